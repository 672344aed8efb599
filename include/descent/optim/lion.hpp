#pragma once
// Lion, "evolved sign momentum" (optax.lion, optax 0.2.8), with PyTorch-style option names.
//
//   g  <- ±grad * grad_scale                         (minus when maximize)
//   c  <- sign(beta1 * m + (1 - beta1) * g)          (sign(0) = 0)
//   m  <- beta2 * m + (1 - beta2) * g
//   p  <- p - lr * (c + weight_decay * p)
// Source: Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms". As optax, the weight decay is
// added to the update before the learning rate scales it (the paper's decoupled form, p * (1 - lr * wd),
// is the same thing). Defaults: optax's betas (0.9, 0.99) and weight_decay 1e-3; lr 1e-4 (optax has no
// default; the paper's suggestion of an Adam rate divided by 3-10).
// State: exp_avg. With bfloat16 state a rounded moment near zero can flip the sign: a whole 2 * lr step.
#include <array>
#include <type_traits>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct LionStep {
  T grad_multiplier, beta1, one_minus_beta1, beta2, one_minus_beta2, lr, weight_decay;
};

struct LionRule {
  template <class T>
  using Step = LionStep<T>;
  static constexpr std::array<const char*, 1> buffers{"exp_avg"};
  template <class V, class T>
  DESCENT_RULE static void apply(const LionStep<T>& s, V& param, V grad, V& exp_avg) {
    const V g = grad * s.grad_multiplier;
    const V direction = sign_of(s.one_minus_beta1 * g + s.beta1 * exp_avg);
    exp_avg = s.one_minus_beta2 * g + s.beta2 * exp_avg;
    param = param - s.lr * (direction + s.weight_decay * param);
  }
};

class Lion final : public Optimizer {
 public:
  Lion(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "lion"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
