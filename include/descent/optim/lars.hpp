#pragma once
// LARS, layer-wise adaptive rate scaling (optax.lars, optax 0.2.8), with PyTorch-style option names.
//
//   g  <- ±grad * grad_scale + weight_decay * p                (minus when maximize)
//   r  <- trust_coefficient * ||p|| / (||g|| + eps)  per parameter tensor (1 when either norm is 0)
//   u  <- -lr * r * g
//   b  <- u + momentum * b;   p <- p + (nesterov ? u + momentum * b : b)
// Source: You et al. 2017, "Large Batch Training of Convolutional Networks". As optax: the learning rate
// is applied before the momentum trace (the buffer holds steps, not gradients), and the trust ratio and
// weight decay apply to every tensor (optax's default masks). lr defaults to 1.0 (optax has no default).
// State: momentum_buffer.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct LarsStep {
  T grad_multiplier, weight_decay, scale, momentum;  // scale = -lr * trust ratio
  bool nesterov;
};

struct LarsRule {
  template <class T>
  using Step = LarsStep<T>;
  static constexpr std::array<const char*, 1> buffers{"momentum_buffer"};
  template <class V, class T>
  DESCENT_RULE static void apply(const LarsStep<T>& s, V& param, V grad, V& buffer) {
    const V u = s.scale * (grad * s.grad_multiplier + s.weight_decay * param);
    buffer = u + s.momentum * buffer;
    param = param + (s.nesterov ? u + s.momentum * buffer : buffer);
  }
};

class Lars final : public Optimizer {
 public:
  Lars(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "lars"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
