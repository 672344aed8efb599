#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/asgd.hpp"

#include <algorithm>
#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

ASGD::ASGD(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-2},
                 {"lambd", 1e-4},
                 {"alpha", 0.75},
                 {"t0", 1e6},
                 {"weight_decay", 0.0},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void ASGD::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void ASGD::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const double lr = group.number("lr"), lambd = group.number("lambd");
  if (state.step == 0) state.scalars = {double(float(lr)), 1.0};  // eta, mu
  const double t = double(++state.step);
  const double eta = state.scalars[0], mu = state.scalars[1];
  const double multiplier = grad_multiplier(group), wd = group.number("weight_decay");
  run_rule<AsgdRule>(segment, [&]<class T>() {
    return AsgdStep<T>{T(multiplier), T(wd), T(1.0 - lambd * eta), T(eta), T(mu)};
  });
  state.scalars[0] = double(float(lr / std::pow(1.0 + lambd * lr * t, group.number("alpha"))));
  state.scalars[1] = double(float(1.0 / std::max(1.0, t - group.number("t0"))));
}

}  // namespace descent::optim
