#pragma once
// LAMB, layer-wise adaptive moments (optax.lamb, optax 0.2.8), with PyTorch-style option names.
//
//   g  <- ±grad * grad_scale                                  (minus when maximize)
//   m  <- beta1 * m + (1 - beta1) * g;   v <- beta2 * v + (1 - beta2) * g^2
//   u  <- (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t) + eps_root) + eps) + weight_decay * p
//   r  <- ||p|| / ||u||  per parameter tensor (1 when either norm is 0)
//   p  <- p - lr * r * u
// Source: You et al. 2020, "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes".
// As optax: the trust ratio has no clipping function and no trust coefficient, and applies to every
// tensor (biases included). Two passes per tensor: the moments fused with the two norms (a reduction
// over the new u), then the update with the tensor's ratio (see src/optim/lamb.cpp).
// State: exp_avg, exp_avg_sq.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct LambStep {
  T grad_multiplier, beta1, one_minus_beta1, beta2, one_minus_beta2;
  T bias_correction1, bias_correction2, eps_root, eps, weight_decay, scale;  // scale = lr * trust ratio
};

// The update direction u from the moments (shared by the norm pass and the update pass).
template <class V, class T>
DESCENT_RULE V lamb_direction(const LambStep<T>& s, V param, V exp_avg, V exp_avg_sq) {
  return (exp_avg / s.bias_correction1) / (root(exp_avg_sq / s.bias_correction2 + s.eps_root) + s.eps) +
         s.weight_decay * param;
}

struct LambMomentsRule {
  template <class T>
  using Step = LambStep<T>;
  static constexpr std::array<const char*, 2> buffers{"exp_avg", "exp_avg_sq"};
  template <class V, class T>
  DESCENT_RULE static void apply(const LambStep<T>& s, V&, V grad, V& exp_avg, V& exp_avg_sq) {
    const V g = grad * s.grad_multiplier;
    exp_avg = s.one_minus_beta1 * g + s.beta1 * exp_avg;
    exp_avg_sq = s.one_minus_beta2 * (g * g) + s.beta2 * exp_avg_sq;
  }
};

struct LambUpdateRule {
  template <class T>
  using Step = LambStep<T>;
  static constexpr std::array<const char*, 2> buffers{"exp_avg", "exp_avg_sq"};
  template <class V, class T>
  DESCENT_RULE static void apply(const LambStep<T>& s, V& param, V, V& exp_avg, V& exp_avg_sq) {
    param = param - s.scale * lamb_direction(s, param, exp_avg, exp_avg_sq);
  }
};

class Lamb final : public Optimizer {
 public:
  Lamb(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "lamb"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

// optax.scale_by_trust_ratio with min_norm 0: coefficient * ||p|| / (||u|| + eps), or 1 when a norm is 0.
double trust_ratio(double param_norm, double update_norm, double coefficient, double eps);

}  // namespace descent::optim
