#pragma once
// SGD with momentum, dampening, Nesterov momentum and L2 weight decay (torch.optim.SGD, PyTorch 2.11).
//
//   g  <- ±grad * grad_scale + weight_decay * p            (minus when maximize)
//   b  <- g                                   on the parameter's first step with momentum != 0 (no
//                                             dampening, as PyTorch creates the buffer then)
//   b  <- momentum * b + (1 - dampening) * g  afterwards
//   g  <- g + momentum * b  if nesterov, else b            (only when momentum != 0)
//   p  <- p - lr * g
// Source: Sutskever et al. 2013 as formulated by PyTorch. Deviation from the paper: PyTorch applies the
// learning rate outside the buffer (b holds gradients, not steps), which matters when lr changes.
// State: momentum_buffer (only when momentum != 0), and per parameter the scalar momentum_buffer_started
// (1 once the buffer holds a gradient), so that a momentum scheduled up from 0 starts the buffer from g, as
// PyTorch does when its momentum_buffer is None.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct SgdStep {
  T grad_multiplier, weight_decay, lr, momentum, one_minus_dampening;
  bool nesterov, first_step;
};

struct SgdRule {
  template <class T>
  using Step = SgdStep<T>;
  static constexpr std::array<const char*, 0> buffers{};
  template <class V, class T>
  DESCENT_RULE static void apply(const SgdStep<T>& s, V& param, V grad) {
    param = param - s.lr * l2_gradient(grad, param, s.grad_multiplier, s.weight_decay);
  }
};

struct SgdMomentumRule {
  template <class T>
  using Step = SgdStep<T>;
  static constexpr std::array<const char*, 1> buffers{"momentum_buffer"};
  template <class V, class T>
  DESCENT_RULE static void apply(const SgdStep<T>& s, V& param, V grad, V& buffer) {
    const V g = l2_gradient(grad, param, s.grad_multiplier, s.weight_decay);
    buffer = s.first_step ? g : buffer * s.momentum + s.one_minus_dampening * g;
    param = param - s.lr * (s.nesterov ? g + s.momentum * buffer : buffer);
  }
};

class Sgd final : public Optimizer {
 public:
  Sgd(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "sgd"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
  std::vector<std::string> scalar_state_names() const override { return {"momentum_buffer_started"}; }
};

}  // namespace descent::optim
