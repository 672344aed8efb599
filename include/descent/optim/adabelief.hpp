#pragma once
// AdaBelief (optax.adabelief, optax 0.2.8), with PyTorch-style option names.
//
//   g  <- ±grad * grad_scale                                   (minus when maximize)
//   m  <- beta1 * m + (1 - beta1) * g
//   s  <- beta2 * s + (1 - beta2) * (g - m)^2 + eps_root
//   p  <- p - lr * (m / (1 - beta1^t)) / (sqrt(s / (1 - beta2^t)) + eps)
// nesterov = true replaces the bias-corrected m by optax's Nesterov estimate
//   beta1 * m / (1 - beta1^(t+1)) + (1 - beta1) * g / (1 - beta1^t)
// computed as lr * beta1 / (1 - beta1^(t+1)) * (m + w * g) with w the ratio of the two coefficients
// (beta1 = 0 makes both estimates g, so nesterov then changes nothing).
// Source: Zhuang et al. 2020, "AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
// Gradients". Deviations from the paper, as optax: eps_root is added to the stored second moment (the
// paper adds eps there), and eps is added outside the square root after bias correction. No weight decay
// (optax has none).
// State: exp_avg, exp_avg_var.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct AdaBeliefStep {
  T grad_multiplier, beta1, one_minus_beta1, beta2, one_minus_beta2, eps_root, step_size, bias_correction2, eps;
  T grad_weight;  // 0 unless nesterov
};

struct AdaBeliefRule {
  template <class T>
  using Step = AdaBeliefStep<T>;
  static constexpr std::array<const char*, 2> buffers{"exp_avg", "exp_avg_var"};
  template <class V, class T>
  DESCENT_RULE static void apply(const AdaBeliefStep<T>& s, V& param, V grad, V& exp_avg, V& exp_avg_var) {
    const V g = grad * s.grad_multiplier;
    exp_avg = s.one_minus_beta1 * g + s.beta1 * exp_avg;
    const V error = g - exp_avg;
    exp_avg_var = s.one_minus_beta2 * (error * error) + s.beta2 * exp_avg_var + s.eps_root;
    param = param - s.step_size * ((exp_avg + s.grad_weight * g) / (root(exp_avg_var / s.bias_correction2) + s.eps));
  }
};

class AdaBelief final : public Optimizer {
 public:
  AdaBelief(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "adabelief"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
