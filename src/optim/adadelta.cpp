#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/adadelta.hpp"

#include "descent/optim/validate.hpp"

namespace descent::optim {

Adadelta::Adadelta(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1.0}, {"rho", 0.9}, {"eps", 1e-6}, {"weight_decay", 0.0}, {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Adadelta::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void Adadelta::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  ++state.step;
  const double multiplier = grad_multiplier(group), wd = group.number("weight_decay");
  const double rho = group.number("rho"), eps = group.number("eps"), lr = group.number("lr");
  run_rule<AdadeltaRule>(segment, [&]<class T>() {
    return AdadeltaStep<T>{T(multiplier), T(wd), T(rho), T(1.0 - rho), T(eps), T(lr)};
  });
}

}  // namespace descent::optim
