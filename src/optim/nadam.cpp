#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/nadam.hpp"

#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

NAdam::NAdam(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 2e-3},
                 {"betas", {0.9, 0.999}, {"beta1", "beta2"}},
                 {"eps", 1e-8},
                 {"weight_decay", 0.0},
                 {"momentum_decay", 4e-3},
                 {"decoupled_weight_decay", false},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void NAdam::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void NAdam::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  if (state.step == 0) state.scalars[0] = 1.0;  // mu_product starts at 1
  const double t = double(++state.step);
  const double lr = group.number("lr"), wd = group.number("weight_decay"), eps = group.number("eps");
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1);
  const double momentum_decay = group.number("momentum_decay");
  const bool decoupled = group.flag("decoupled_weight_decay");
  const double multiplier = grad_multiplier(group);
  const double mu = beta1 * (1.0 - 0.5 * std::pow(0.96, t * momentum_decay));
  const double mu_next = beta1 * (1.0 - 0.5 * std::pow(0.96, (t + 1.0) * momentum_decay));
  const double mu_product = double(float(state.scalars[0] * mu));
  state.scalars[0] = mu_product;
  const double mu_product_next = mu_product * mu_next;
  const double grad_coefficient = -lr * (1.0 - mu) / (1.0 - mu_product);
  const double exp_avg_coefficient = -lr * mu_next / (1.0 - mu_product_next);
  const double bias_correction2 = 1.0 - std::pow(beta2, t);
  run_rule<NadamRule>(segment, [&]<class T>() {
    return NadamStep<T>{T(multiplier),      T(decoupled ? 0.0 : wd), T(decoupled ? 1.0 - lr * wd : 1.0),
                        T(1.0 - beta1),     T(beta2),                T(1.0 - beta2),
                        T(bias_correction2), T(eps),                 T(grad_coefficient),
                        T(exp_avg_coefficient)};
  });
}

}  // namespace descent::optim
