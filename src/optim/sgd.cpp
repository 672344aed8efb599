#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/sgd.hpp"

#include "descent/optim/validate.hpp"

namespace descent::optim {

Sgd::Sgd(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-3},
                 {"momentum", 0.0},
                 {"dampening", 0.0},
                 {"weight_decay", 0.0},
                 {"nesterov", false},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Sgd::validate(const nlohmann::json& o) const {
  check_shared_options(name(), o);
  const double momentum = o["momentum"], dampening = o["dampening"];
  check_option(name(), "dampening", dampening, dampening >= 0 && dampening <= 1, "0 <= dampening <= 1");
  DESCENT_CHECK(!o["nesterov"].get<bool>() || (momentum > 0 && dampening == 0), name(),
                ": option nesterov = true requires momentum > 0 and dampening = 0; got momentum = ", momentum,
                ", dampening = ", dampening);
}

void Sgd::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const double multiplier = grad_multiplier(group), wd = group.number("weight_decay"), lr = group.number("lr");
  const double momentum = group.number("momentum"), dampening = group.number("dampening");
  const bool nesterov = group.flag("nesterov"), first = state.scalars[0] == 0.0;
  auto make_step = [&]<class T>() {
    return SgdStep<T>{T(multiplier), T(wd), T(lr), T(momentum), T(1.0 - dampening), nesterov, first};
  };
  if (momentum != 0) {
    run_rule<SgdMomentumRule>(segment, make_step);
    state.scalars[0] = 1.0;
  } else
    run_rule<SgdRule>(segment, make_step);
  ++state.step;
}

}  // namespace descent::optim
