#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/adabelief.hpp"

#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

AdaBelief::AdaBelief(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-3},
                 {"betas", {0.9, 0.999}, {"beta1", "beta2"}},
                 {"eps", 1e-16},
                 {"eps_root", 1e-16},
                 {"nesterov", false},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void AdaBelief::validate(const nlohmann::json& options) const {
  check_shared_options(name(), options);
  const double eps_root = options["eps_root"];
  check_option(name(), "eps_root", eps_root, eps_root >= 0, "eps_root >= 0");
}

void AdaBelief::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const double t = double(++state.step);
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1);
  const double multiplier = grad_multiplier(group), lr = group.number("lr");
  const double eps = group.number("eps"), eps_root = group.number("eps_root");
  const double bias_correction1 = 1.0 - std::pow(beta1, t), bias_correction2 = 1.0 - std::pow(beta2, t);
  double step_size = lr / bias_correction1, grad_weight = 0.0;
  if (group.flag("nesterov") && beta1 > 0.0) {
    const double momentum_coefficient = beta1 / (1.0 - std::pow(beta1, t + 1.0));
    step_size = lr * momentum_coefficient;
    grad_weight = (1.0 - beta1) / bias_correction1 / momentum_coefficient;
  }
  run_rule<AdaBeliefRule>(segment, [&]<class T>() {
    return AdaBeliefStep<T>{T(multiplier), T(beta1),     T(1.0 - beta1),        T(beta2), T(1.0 - beta2),
                            T(eps_root),   T(step_size), T(bias_correction2), T(eps),
                            T(grad_weight)};
  });
}

}  // namespace descent::optim
