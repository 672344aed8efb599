#pragma once
// Adagrad (torch.optim.Adagrad, PyTorch 2.11).
//
//   g    <- ±grad * grad_scale + weight_decay * p          (L2 decay)
//   s    <- s + g^2          (s starts at initial_accumulator_value)
//   p    <- p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
// Source: Duchi, Hazan & Singer 2011. Deviations, as PyTorch: eps is added outside the square root; the
// learning-rate decay and the initial accumulator are PyTorch's additions.
// State: sum.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct AdagradStep {
  T grad_multiplier, weight_decay, initial_accumulator_value, eps, clr;
  bool first_step;
};

struct AdagradRule {
  template <class T>
  using Step = AdagradStep<T>;
  static constexpr std::array<const char*, 1> buffers{"sum"};
  template <class V, class T>
  DESCENT_RULE static void apply(const AdagradStep<T>& s, V& param, V grad, V& sum) {
    const V g = l2_gradient(grad, param, s.grad_multiplier, s.weight_decay);
    sum = (s.first_step ? splat<V>(s.initial_accumulator_value) : sum) + g * g;
    param = param - s.clr * (g / (root(sum) + s.eps));
  }
};

class Adagrad final : public Optimizer {
 public:
  Adagrad(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "adagrad"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
