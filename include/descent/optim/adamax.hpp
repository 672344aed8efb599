#pragma once
// Adamax (torch.optim.Adamax, PyTorch 2.11): Adam with the infinity norm in place of the second moment.
//
//   g  <- ±grad * grad_scale + weight_decay * p      (L2 decay)
//   m  <- lerp(m, g, 1 - beta1)
//   u  <- max(beta2 * u, |g| + eps)
//   p  <- p - (lr / (1 - beta1^t)) * m / u
// Source: Kingma & Ba 2015, section 7.1. Deviation, as PyTorch: eps is added to |g| inside the max (the
// paper has no eps), which keeps u > 0 from the first step.
// State: exp_avg, exp_inf.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct AdamaxStep {
  T grad_multiplier, weight_decay, one_minus_beta1, beta2, eps, step_size;
};

struct AdamaxRule {
  template <class T>
  using Step = AdamaxStep<T>;
  static constexpr std::array<const char*, 2> buffers{"exp_avg", "exp_inf"};
  template <class V, class T>
  DESCENT_RULE static void apply(const AdamaxStep<T>& s, V& param, V grad, V& exp_avg, V& exp_inf) {
    const V g = l2_gradient(grad, param, s.grad_multiplier, s.weight_decay);
    exp_avg = lerp(exp_avg, g, s.one_minus_beta1);
    exp_inf = maximum(exp_inf * s.beta2, absolute(g) + s.eps);
    param = param - s.step_size * (exp_avg / exp_inf);
  }
};

class Adamax final : public Optimizer {
 public:
  Adamax(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "adamax"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
