#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/rmsprop.hpp"

#include "descent/optim/validate.hpp"

namespace descent::optim {

RMSprop::RMSprop(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-2},
                 {"alpha", 0.99},
                 {"eps", 1e-8},
                 {"weight_decay", 0.0},
                 {"momentum", 0.0},
                 {"centered", false},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void RMSprop::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void RMSprop::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  ++state.step;
  const double multiplier = grad_multiplier(group), wd = group.number("weight_decay");
  const double alpha = group.number("alpha"), eps = group.number("eps"), momentum = group.number("momentum");
  const double lr = group.number("lr");
  auto make_step = [&]<class T>() {
    return RmspropStep<T>{T(multiplier), T(wd), T(alpha), T(1.0 - alpha), T(eps), T(momentum), T(lr)};
  };
  const bool centered = group.flag("centered");
  if (momentum > 0) {
    if (centered)
      run_rule<RmspropCenteredMomentumRule>(segment, make_step);
    else
      run_rule<RmspropMomentumRule>(segment, make_step);
  } else {
    if (centered)
      run_rule<RmspropCenteredRule>(segment, make_step);
    else
      run_rule<RmspropRule>(segment, make_step);
  }
}

}  // namespace descent::optim
