#pragma once
// RMSprop (torch.optim.RMSprop, PyTorch 2.11), optionally centered and with momentum.
//
//   g   <- ±grad * grad_scale + weight_decay * p           (L2 decay)
//   a   <- alpha * a + (1 - alpha) * g^2
//   c   <- lerp(c, g, 1 - alpha)                           centered only
//   d   =  sqrt(a - c^2) + eps  if centered, else sqrt(a) + eps
//   b   <- momentum * b + g / d;   p <- p - lr * b         with momentum > 0
//   p   <- p - lr * g / d                                  otherwise
// Source: Hinton, Coursera lecture 6e (2012); centered form from Graves 2013. Deviation, as PyTorch: eps
// is added outside the square root, and momentum accumulates g / d (not lr * g / d).
// State: square_avg; grad_avg (centered); momentum_buffer (momentum > 0).
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct RmspropStep {
  T grad_multiplier, weight_decay, alpha, one_minus_alpha, eps, momentum, lr;
};

template <class V, class T>
DESCENT_RULE V rmsprop_gradient(const RmspropStep<T>& s, V param, V grad, V& square_avg) {
  const V g = l2_gradient(grad, param, s.grad_multiplier, s.weight_decay);
  square_avg = square_avg * s.alpha + s.one_minus_alpha * g * g;
  return g;
}

template <class V, class T>
DESCENT_RULE V centered_denominator(const RmspropStep<T>& s, V g, V square_avg, V& grad_avg) {
  grad_avg = lerp(grad_avg, g, s.one_minus_alpha);
  return root(square_avg - grad_avg * grad_avg) + s.eps;
}

struct RmspropRule {
  template <class T>
  using Step = RmspropStep<T>;
  static constexpr std::array<const char*, 1> buffers{"square_avg"};
  template <class V, class T>
  DESCENT_RULE static void apply(const RmspropStep<T>& s, V& param, V grad, V& square_avg) {
    const V g = rmsprop_gradient(s, param, grad, square_avg);
    param = param - s.lr * (g / (root(square_avg) + s.eps));
  }
};

struct RmspropCenteredRule {
  template <class T>
  using Step = RmspropStep<T>;
  static constexpr std::array<const char*, 2> buffers{"square_avg", "grad_avg"};
  template <class V, class T>
  DESCENT_RULE static void apply(const RmspropStep<T>& s, V& param, V grad, V& square_avg, V& grad_avg) {
    const V g = rmsprop_gradient(s, param, grad, square_avg);
    param = param - s.lr * (g / centered_denominator(s, g, square_avg, grad_avg));
  }
};

struct RmspropMomentumRule {
  template <class T>
  using Step = RmspropStep<T>;
  static constexpr std::array<const char*, 2> buffers{"square_avg", "momentum_buffer"};
  template <class V, class T>
  DESCENT_RULE static void apply(const RmspropStep<T>& s, V& param, V grad, V& square_avg, V& buffer) {
    const V g = rmsprop_gradient(s, param, grad, square_avg);
    buffer = buffer * s.momentum + g / (root(square_avg) + s.eps);
    param = param - s.lr * buffer;
  }
};

struct RmspropCenteredMomentumRule {
  template <class T>
  using Step = RmspropStep<T>;
  static constexpr std::array<const char*, 3> buffers{"square_avg", "grad_avg", "momentum_buffer"};
  template <class V, class T>
  DESCENT_RULE static void apply(const RmspropStep<T>& s, V& param, V grad, V& square_avg, V& grad_avg,
                                 V& buffer) {
    const V g = rmsprop_gradient(s, param, grad, square_avg);
    buffer = buffer * s.momentum + g / centered_denominator(s, g, square_avg, grad_avg);
    param = param - s.lr * buffer;
  }
};

class RMSprop final : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "rmsprop"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
