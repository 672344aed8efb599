#pragma once
// Adadelta (torch.optim.Adadelta, PyTorch 2.11).
//
//   g   <- ±grad * grad_scale + weight_decay * p           (L2 decay)
//   a   <- rho * a + (1 - rho) * g^2
//   Δ   =  sqrt(d + eps) / sqrt(a + eps) * g
//   d   <- rho * d + (1 - rho) * Δ^2
//   p   <- p - lr * Δ
// Source: Zeiler 2012. Deviation, as PyTorch: a learning rate multiplies the step (1.0 by default, which is
// the paper's rule).
// State: square_avg, acc_delta.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct AdadeltaStep {
  T grad_multiplier, weight_decay, rho, one_minus_rho, eps, lr;
};

struct AdadeltaRule {
  template <class T>
  using Step = AdadeltaStep<T>;
  static constexpr std::array<const char*, 2> buffers{"square_avg", "acc_delta"};
  template <class V, class T>
  DESCENT_RULE static void apply(const AdadeltaStep<T>& s, V& param, V grad, V& square_avg, V& acc_delta) {
    const V g = l2_gradient(grad, param, s.grad_multiplier, s.weight_decay);
    square_avg = square_avg * s.rho + s.one_minus_rho * g * g;
    const V delta = root(acc_delta + s.eps) / root(square_avg + s.eps) * g;
    acc_delta = acc_delta * s.rho + s.one_minus_rho * delta * delta;
    param = param - s.lr * delta;
  }
};

class Adadelta final : public Optimizer {
 public:
  Adadelta(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "adadelta"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
