#pragma once
// Rprop (torch.optim.Rprop, PyTorch 2.11): sign-based steps with per-element adaptive step sizes.
//
//   g   <- ±grad * grad_scale
//   f   =  eta_plus if g * g_prev > 0, eta_minus if < 0, else 1
//   η   <- clamp(η * f, step_size_min, step_size_max)      (η starts at lr)
//   g   <- 0 where f == eta_minus                          (no step, and no sign memory, after a flip)
//   p   <- p - sign(g) * η;   g_prev <- g
// Source: Riedmiller & Braun 1993 (the Rprop- variant without weight backtracking), as PyTorch.
// lr is read only when a parameter's state is created, like PyTorch.
// A NaN gradient element takes no step, as in PyTorch, where torch.sign(NaN) is 0: its factor is 1 (the
// product's sign is 0), its parameter is unchanged, and the NaN is kept as its previous gradient, so the
// next step's factor is 1 again.
// State: prev, step_size.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct RpropStep {
  T grad_multiplier, eta_minus, eta_plus, step_size_min, step_size_max, initial_step_size;
  bool first_step;
};

struct RpropRule {
  template <class T>
  using Step = RpropStep<T>;
  static constexpr std::array<const char*, 2> buffers{"prev", "step_size"};
  static constexpr bool narrow_vectors = true;  // its selects compare lanes (kernel.hpp)
  template <class V, class T>
  DESCENT_RULE static void apply(const RpropStep<T>& s, V& param, V grad, V& prev, V& step_size) {
    V g = grad * s.grad_multiplier;
    const V product = g * prev, zero = V{}, one = splat<V>(T(1));
    const V factor = select(product > zero, splat<V>(s.eta_plus), select(product < zero, splat<V>(s.eta_minus), one));
    const V size = s.first_step ? splat<V>(s.initial_step_size) : step_size;
    step_size = minimum(maximum(size * factor, splat<V>(s.step_size_min)), splat<V>(s.step_size_max));
    g = select(factor == splat<V>(s.eta_minus), zero, g);
    const V sign = select(g > zero, one, select(g < zero, -one, zero));  // torch.sign(NaN) is 0: no step
    param = param - sign * step_size;
    prev = g;
  }
};

class Rprop final : public Optimizer {
 public:
  Rprop(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "rprop"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

}  // namespace descent::optim
