#pragma once
// RAdam (torch.optim.RAdam, PyTorch 2.11): Adam whose adaptive step is switched on, and rectified, once the
// variance of the adaptive learning rate is tractable.
//
//   g   <- ±grad * grad_scale (+ weight_decay * p, L2);   p <- p * (1 - lr * weight_decay) if decoupled
//   m   <- lerp(m, g, 1 - beta1);   v <- beta2 * v + (1 - beta2) * g^2
//   ρ∞  =  2 / (1 - beta2) - 1;     ρ_t = ρ∞ - 2 t beta2^t / (1 - beta2^t)
//   if ρ_t > 5:  r_t = sqrt((ρ_t - 4)(ρ_t - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρ_t))
//                p <- p - (m / (1 - beta1^t)) * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t
//   else:        p <- p - (m / (1 - beta1^t)) * lr
// Source: Liu et al. 2020. Deviation, as PyTorch: eps is added to sqrt(v) before the bias correction.
// The branch on ρ_t depends only on t, so it is taken on the host and passed as `rectified`.
// State: exp_avg, exp_avg_sq.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct RadamStep {
  T grad_multiplier, l2_weight_decay, param_decay, one_minus_beta1, beta2, one_minus_beta2,
      bias_correction1, lr, bias_correction2_sqrt, eps, rectification;
  bool rectified;
};

struct RadamRule {
  template <class T>
  using Step = RadamStep<T>;
  static constexpr std::array<const char*, 2> buffers{"exp_avg", "exp_avg_sq"};
  template <class V, class T>
  DESCENT_RULE static void apply(const RadamStep<T>& s, V& param, V grad, V& exp_avg, V& exp_avg_sq) {
    const V g = l2_gradient(grad, param, s.grad_multiplier, s.l2_weight_decay);
    param = param * s.param_decay;
    exp_avg = lerp(exp_avg, g, s.one_minus_beta1);
    exp_avg_sq = exp_avg_sq * s.beta2 + s.one_minus_beta2 * g * g;
    const V corrected_step = exp_avg / s.bias_correction1 * s.lr;
    if (s.rectified)
      param = param - corrected_step * (s.bias_correction2_sqrt / (root(exp_avg_sq) + s.eps)) * s.rectification;
    else
      param = param - corrected_step;
  }
};

class RAdam final : public Optimizer {
 public:
  RAdam(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "radam"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
