#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/adam.hpp"

#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

namespace {

// AdamW has no decoupled_weight_decay option (torch.optim.AdamW rejects it): its decay is always decoupled.
std::vector<OptionSpec> adam_options(bool adamw, double weight_decay) {
  std::vector<OptionSpec> specs = {{"lr", 1e-3},
                                   {"betas", {0.9, 0.999}, {"beta1", "beta2"}},
                                   {"eps", 1e-8},
                                   {"weight_decay", weight_decay},
                                   {"amsgrad", false},
                                   {"maximize", false}};
  if (!adamw) specs.push_back({"decoupled_weight_decay", false});
  return specs;
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, const nlohmann::json& options) : Adam(std::move(params), options, false, 0.0) {}

Adam::Adam(std::vector<Tensor> params, const nlohmann::json& options, bool adamw, double weight_decay)
    : Optimizer(adam_options(adamw, weight_decay)), adamw_(adamw) {
  initialize(std::move(params), options);
}

void Adam::validate(const nlohmann::json& options) const { check_shared_options(name(), options); }

void Adam::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const std::int64_t t = ++state.step;
  const double lr = group.number("lr"), wd = group.number("weight_decay"), eps = group.number("eps");
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1);
  const bool decoupled = adamw_ || group.flag("decoupled_weight_decay");
  const double multiplier = grad_multiplier(group);
  const double step_size = lr / (1.0 - std::pow(beta1, double(t)));
  const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(beta2, double(t)));
  auto make_step = [&]<class T>() {
    return AdamStep<T>{T(multiplier),        T(decoupled ? 0.0 : wd), T(decoupled ? 1.0 - lr * wd : 1.0),
                       T(1.0 - beta1),       T(beta2),                T(1.0 - beta2),
                       T(step_size),         T(bias_correction2_sqrt), T(eps)};
  };
  if (group.flag("amsgrad"))
    run_rule<AmsgradRule>(segment, make_step);
  else
    run_rule<AdamRule>(segment, make_step);
}

}  // namespace descent::optim
