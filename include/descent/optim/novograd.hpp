#pragma once
// NovoGrad (optax.novograd, optax 0.2.8), with PyTorch-style option names.
//
//   g  <- ±grad * grad_scale                                  (minus when maximize)
//   n  <- ||g||^2 on the first step, else beta2 * n + (1 - beta2) * ||g||^2    (one scalar per tensor)
//   u  <- g / (sqrt(n + eps_root) + eps) + weight_decay * p
//   m  <- u on the first step, else beta1 * m + u
//   p  <- p - lr * m
// Source: Ginsburg et al. 2019, "Stochastic Gradient Methods with Layer-wise Adaptive Moments for
// Training of Deep Networks". As optax: no bias correction and no (1 - beta1) factor on u. Two passes per
// tensor: the squared gradient norm, then the element-wise update with that tensor's n.
// State: exp_avg per element; grad_sq_norm (n) per tensor, saved in state_dict's per-parameter scalars.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct NovoGradStep {
  T grad_multiplier, inverse_denominator, weight_decay, beta1, lr;  // inverse_denominator = 1/(sqrt(n+eps_root)+eps)
  bool first_step;
};

struct NovoGradRule {
  template <class T>
  using Step = NovoGradStep<T>;
  static constexpr std::array<const char*, 1> buffers{"exp_avg"};
  template <class V, class T>
  DESCENT_RULE static void apply(const NovoGradStep<T>& s, V& param, V grad, V& exp_avg) {
    const V u = (grad * s.grad_multiplier) * s.inverse_denominator + s.weight_decay * param;
    exp_avg = s.first_step ? u : s.beta1 * exp_avg + u;
    param = param - s.lr * exp_avg;
  }
};

class NovoGrad final : public Optimizer {
 public:
  NovoGrad(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "novograd"; }
  std::size_t state_bytes() const override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& state) override;

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;

 private:
  std::vector<double> grad_sq_norms_;  // n, by global parameter index
};

}  // namespace descent::optim
