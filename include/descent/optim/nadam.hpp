#pragma once
// NAdam (torch.optim.NAdam, PyTorch 2.11): Adam with Nesterov momentum and a momentum schedule.
//
//   g     <- ±grad * grad_scale (+ weight_decay * p, L2);   p <- p * (1 - lr * weight_decay) if decoupled
//   mu_t  =  beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))        (mu_{t+1} likewise)
//   Π_t   =  Π_{t-1} * mu_t                                       (mu_product, per parameter)
//   m     <- lerp(m, g, 1 - beta1);   v <- beta2 * v + (1 - beta2) * g^2
//   d     =  sqrt(v / (1 - beta2^t)) + eps
//   p     <- p - lr * (1 - mu_t) / (1 - Π_t) * g / d - lr * mu_{t+1} / (1 - Π_t * mu_{t+1}) * m / d
// Source: Dozat 2016, with the momentum schedule of the paper's appendix. Deviations, as PyTorch: eps is
// added after the square root of the bias-corrected v; mu_product is kept in float32 (PyTorch's scalar
// dtype), which this implementation reproduces by rounding it to float after each update.
// State: exp_avg, exp_avg_sq; scalar mu_product.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct NadamStep {
  T grad_multiplier, l2_weight_decay, param_decay, one_minus_beta1, beta2, one_minus_beta2,
      bias_correction2, eps, grad_coefficient, exp_avg_coefficient;
};

struct NadamRule {
  template <class T>
  using Step = NadamStep<T>;
  static constexpr std::array<const char*, 2> buffers{"exp_avg", "exp_avg_sq"};
  template <class V, class T>
  DESCENT_RULE static void apply(const NadamStep<T>& s, V& param, V grad, V& exp_avg, V& exp_avg_sq) {
    const V g = l2_gradient(grad, param, s.grad_multiplier, s.l2_weight_decay);
    param = param * s.param_decay;
    exp_avg = lerp(exp_avg, g, s.one_minus_beta1);
    exp_avg_sq = exp_avg_sq * s.beta2 + s.one_minus_beta2 * g * g;
    const V denom = root(exp_avg_sq / s.bias_correction2) + s.eps;
    param = param + s.grad_coefficient * (g / denom);
    param = param + s.exp_avg_coefficient * (exp_avg / denom);
  }
};

class NAdam final : public Optimizer {
 public:
  NAdam(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "nadam"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
  std::vector<std::string> scalar_state_names() const override { return {"mu_product"}; }
};

}  // namespace descent::optim
