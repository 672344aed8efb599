#pragma once
// Yogi (optax.yogi, optax 0.2.8), with PyTorch-style option names.
//
//   g  <- ±grad * grad_scale                                 (minus when maximize)
//   m  <- beta1 * m + (1 - beta1) * g                        (m and v start at initial_accumulator_value)
//   v  <- v - (1 - beta2) * sign(v - g^2) * g^2
//   p  <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
// Source: Zaheer et al. 2018, "Adaptive Methods for Nonconvex Optimization". As optax (and unlike the
// paper's Algorithm 2), both moments are bias-corrected like Adam's; the additive second-moment update is
// what makes the effective rate unable to grow quickly. lr defaults to 1e-2 (optax has no default).
// State: exp_avg, exp_avg_sq.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct YogiStep {
  T grad_multiplier, initial, beta1, one_minus_beta1, one_minus_beta2, step_size, bias_correction2, eps;
  bool first_step;
};

struct YogiRule {
  template <class T>
  using Step = YogiStep<T>;
  static constexpr std::array<const char*, 2> buffers{"exp_avg", "exp_avg_sq"};
  template <class V, class T>
  DESCENT_RULE static void apply(const YogiStep<T>& s, V& param, V grad, V& exp_avg, V& exp_avg_sq) {
    const V g = grad * s.grad_multiplier;
    const V m = s.first_step ? splat<V>(s.initial) : exp_avg;
    const V v = s.first_step ? splat<V>(s.initial) : exp_avg_sq;
    const V g2 = g * g;
    exp_avg = s.one_minus_beta1 * g + s.beta1 * m;
    exp_avg_sq = v - s.one_minus_beta2 * sign_of(v - g2) * g2;
    param = param - s.step_size * (exp_avg / (root(exp_avg_sq / s.bias_correction2) + s.eps));
  }
};

class Yogi final : public Optimizer {
 public:
  Yogi(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "yogi"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
