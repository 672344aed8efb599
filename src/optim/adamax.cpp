#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/adamax.hpp"

#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

Adamax::Adamax(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 2e-3},
                 {"betas", {0.9, 0.999}, {"beta1", "beta2"}},
                 {"eps", 1e-8},
                 {"weight_decay", 0.0},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Adamax::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void Adamax::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const std::int64_t t = ++state.step;
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1);
  const double multiplier = grad_multiplier(group), wd = group.number("weight_decay"), eps = group.number("eps");
  const double step_size = group.number("lr") / (1.0 - std::pow(beta1, double(t)));
  run_rule<AdamaxRule>(segment, [&]<class T>() {
    return AdamaxStep<T>{T(multiplier), T(wd), T(1.0 - beta1), T(beta2), T(eps), T(step_size)};
  });
}

}  // namespace descent::optim
