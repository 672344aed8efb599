#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/radam.hpp"

#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

RAdam::RAdam(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-3},
                 {"betas", {0.9, 0.999}, {"beta1", "beta2"}},
                 {"eps", 1e-8},
                 {"weight_decay", 0.0},
                 {"decoupled_weight_decay", false},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void RAdam::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void RAdam::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const double t = double(++state.step);
  const double lr = group.number("lr"), wd = group.number("weight_decay"), eps = group.number("eps");
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1);
  const bool decoupled = group.flag("decoupled_weight_decay");
  const double multiplier = grad_multiplier(group);
  const double bias_correction1 = 1.0 - std::pow(beta1, t);
  const double bias_correction2 = 1.0 - std::pow(beta2, t);
  const double rho_inf = 2.0 / (1.0 - beta2) - 1.0;
  const double rho_t = rho_inf - 2.0 * t * std::pow(beta2, t) / bias_correction2;
  const bool rectified = rho_t > 5.0;
  const double rectification =
      rectified ? std::sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                : 0.0;
  run_rule<RadamRule>(segment, [&]<class T>() {
    return RadamStep<T>{T(multiplier),       T(decoupled ? 0.0 : wd),        T(decoupled ? 1.0 - lr * wd : 1.0),
                        T(1.0 - beta1),      T(beta2),                       T(1.0 - beta2),
                        T(bias_correction1), T(lr),                          T(std::sqrt(bias_correction2)),
                        T(eps),              T(rectification),               rectified};
  });
}

}  // namespace descent::optim
