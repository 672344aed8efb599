#pragma once
// ASGD, averaged SGD (torch.optim.ASGD, PyTorch 2.11).
//
//   g    <- ±grad * grad_scale + weight_decay * p          (L2 decay)
//   p    <- p * (1 - lambd * eta) - eta * g
//   ax   <- ax + (p - ax) * mu    if mu != 1, else ax <- p  (the running average of the iterates)
//   then, per parameter: eta <- lr / (1 + lambd * lr * t)^alpha;  mu <- 1 / max(1, t - t0)
// Source: Polyak & Juditsky 1992; the step-size schedule of Bottou 2012 as PyTorch implements it.
// Deviation, as PyTorch: eta and mu are kept in float32 (PyTorch's scalar dtype); eta starts at lr.
// State: ax; scalars eta, mu.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct AsgdStep {
  T grad_multiplier, weight_decay, param_decay, eta, mu;
};

struct AsgdRule {
  template <class T>
  using Step = AsgdStep<T>;
  static constexpr std::array<const char*, 1> buffers{"ax"};
  template <class V, class T>
  DESCENT_RULE static void apply(const AsgdStep<T>& s, V& param, V grad, V& ax) {
    const V g = l2_gradient(grad, param, s.grad_multiplier, s.weight_decay);
    param = param * s.param_decay;
    param = param - s.eta * g;
    ax = s.mu != T(1) ? ax + (param - ax) * s.mu : param;
  }
};

class ASGD final : public Optimizer {
 public:
  ASGD(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "asgd"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
  std::vector<std::string> scalar_state_names() const override { return {"eta", "mu"}; }
};

}  // namespace descent::optim
