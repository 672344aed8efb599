#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/yogi.hpp"

#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

Yogi::Yogi(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-2},
                 {"betas", {0.9, 0.999}, {"beta1", "beta2"}},
                 {"eps", 1e-3},
                 {"initial_accumulator_value", 1e-6},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Yogi::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void Yogi::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const bool first = state.step == 0;
  const double t = double(++state.step);
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1);
  const double multiplier = grad_multiplier(group), lr = group.number("lr"), eps = group.number("eps");
  const double initial = group.number("initial_accumulator_value");
  const double step_size = lr / (1.0 - std::pow(beta1, t)), bias_correction2 = 1.0 - std::pow(beta2, t);
  run_rule<YogiRule>(segment, [&]<class T>() {
    return YogiStep<T>{T(multiplier), T(initial),   T(beta1),          T(1.0 - beta1), T(1.0 - beta2),
                       T(step_size),  T(bias_correction2), T(eps), first};
  });
}

}  // namespace descent::optim
