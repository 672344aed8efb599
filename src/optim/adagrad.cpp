#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/adagrad.hpp"

#include "descent/optim/validate.hpp"

namespace descent::optim {

Adagrad::Adagrad(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-2},
                 {"lr_decay", 0.0},
                 {"weight_decay", 0.0},
                 {"initial_accumulator_value", 0.0},
                 {"eps", 1e-10},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Adagrad::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void Adagrad::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const bool first = state.step == 0;
  const double t = double(++state.step);
  const double clr = group.number("lr") / (1.0 + (t - 1.0) * group.number("lr_decay"));
  const double multiplier = grad_multiplier(group), wd = group.number("weight_decay");
  const double initial = group.number("initial_accumulator_value"), eps = group.number("eps");
  run_rule<AdagradRule>(segment, [&]<class T>() {
    return AdagradStep<T>{T(multiplier), T(wd), T(initial), T(eps), T(clr), first};
  });
}

}  // namespace descent::optim
