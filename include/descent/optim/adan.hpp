#pragma once
// Adan, adaptive Nesterov momentum (optax.adan, optax 0.2.8), with PyTorch-style option names;
// betas = (beta1, beta2, beta3).
//
//   g  <- ±grad * grad_scale                            (minus when maximize)
//   d  <- g - g_prev                                    (0 on the first step)
//   m  <- beta1 * m + (1 - beta1) * g
//   v  <- beta2 * v + (1 - beta2) * d
//   n  <- beta3 * n + (1 - beta3) * (g + (1 - beta2) * d)^2
//   u  <- (m / (1 - beta1^t) + (1 - beta2) * v / (1 - beta2^t)) / (sqrt(n / (1 - beta3^t) + eps_root) + eps)
//   p  <- p - lr * (u + weight_decay * p);   g_prev <- g
// Source: Xie et al. 2022, "Adan: Adaptive Nesterov Momentum Algorithm". Deviations from the paper, as
// optax: the moments are bias-corrected, and weight decay is added to the update (the paper divides the
// parameter by 1 + lr * weight_decay instead). The three betas are set through the option `betas`; they are
// not hyperparameters that schedules can change.
// State: exp_avg, exp_avg_diff, exp_avg_sq, prev_grad.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct AdanStep {
  T grad_multiplier, beta1, one_minus_beta1, beta2, one_minus_beta2, beta3, one_minus_beta3;
  T bias_correction1, bias_correction2, bias_correction3, eps_root, eps, lr, weight_decay;
  bool first_step;
};

struct AdanRule {
  template <class T>
  using Step = AdanStep<T>;
  static constexpr std::array<const char*, 4> buffers{"exp_avg", "exp_avg_diff", "exp_avg_sq", "prev_grad"};
  template <class V, class T>
  DESCENT_RULE static void apply(const AdanStep<T>& s, V& param, V grad, V& exp_avg, V& exp_avg_diff,
                                 V& exp_avg_sq, V& prev_grad) {
    const V g = grad * s.grad_multiplier;
    const V diff = s.first_step ? V{} : g - prev_grad;
    exp_avg = s.one_minus_beta1 * g + s.beta1 * exp_avg;
    exp_avg_diff = s.one_minus_beta2 * diff + s.beta2 * exp_avg_diff;
    const V mixed = g + s.one_minus_beta2 * diff;
    exp_avg_sq = s.one_minus_beta3 * (mixed * mixed) + s.beta3 * exp_avg_sq;
    prev_grad = g;
    const V numerator = exp_avg / s.bias_correction1 + s.one_minus_beta2 * (exp_avg_diff / s.bias_correction2);
    const V u = numerator / (root(exp_avg_sq / s.bias_correction3 + s.eps_root) + s.eps);
    param = param - s.lr * (u + s.weight_decay * param);
  }
};

class Adan final : public Optimizer {
 public:
  Adan(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "adan"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
