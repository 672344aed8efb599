#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/lars.hpp"

#include <cmath>

#include "descent/optim/lamb.hpp"
#include "descent/optim/tensor_pass.hpp"
#include "descent/optim/validate.hpp"

namespace descent::optim {

Lars::Lars(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1.0},
                 {"momentum", 0.9},
                 {"weight_decay", 0.0},
                 {"trust_coefficient", 0.001},
                 {"eps", 0.0},
                 {"nesterov", false},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Lars::validate(const nlohmann::json& options) const {
  check_shared_options(name(), options);
  const double coefficient = options["trust_coefficient"];
  check_option(name(), "trust_coefficient", coefficient, coefficient > 0, "trust_coefficient > 0");
}

void Lars::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  ++state.step;
  const double multiplier = grad_multiplier(group), wd = group.number("weight_decay"), lr = group.number("lr");
  const double momentum = group.number("momentum"), coefficient = group.number("trust_coefficient");
  const double eps = group.number("eps");
  const bool nesterov = group.flag("nesterov");
  for (const TensorSlice& slice : tensor_slices(group, segment)) {
    const Segment one = slice_segment(segment, slice, state_dtype());
    std::array<double, 2> sums{};
    dispatch_floating(one.dtype, "lars", [&](auto zero) {
      using T = decltype(zero);
      const T* p = static_cast<const T*>(one.param);
      const T* g = static_cast<const T*>(one.grad);
      const T m = T(multiplier), decay = T(wd);
      sums = vector_sums<T, 2>(one.numel, [=](auto lanes, std::int64_t i) DESCENT_TERM {
        using L = decltype(lanes);
        const typename L::V x = L::load(p + i);
        const typename L::V u = L::load(g + i) * m + decay * x;
        return std::array<typename L::V, 2>{x * x, u * u};
      });
    });
    const double ratio = trust_ratio(std::sqrt(sums[0]), std::sqrt(sums[1]), coefficient, eps);
    run_rule<LarsRule>(one, [&]<class T>() {
      return LarsStep<T>{T(multiplier), T(wd), T(-lr * ratio), T(momentum), nesterov};
    });
  }
}

}  // namespace descent::optim
