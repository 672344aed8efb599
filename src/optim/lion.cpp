#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/lion.hpp"

#include "descent/optim/validate.hpp"

namespace descent::optim {

Lion::Lion(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-4},
                 {"betas", {0.9, 0.99}, {"beta1", "beta2"}},
                 {"weight_decay", 1e-3},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Lion::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void Lion::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  ++state.step;
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1);
  const double multiplier = grad_multiplier(group), lr = group.number("lr"), wd = group.number("weight_decay");
  run_rule<LionRule>(segment, [&]<class T>() {
    return LionStep<T>{T(multiplier), T(beta1), T(1.0 - beta1), T(beta2), T(1.0 - beta2), T(lr), T(wd)};
  });
}

}  // namespace descent::optim
