#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/schedule_free_adamw.hpp"

#include <algorithm>
#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

ScheduleFreeAdamW::ScheduleFreeAdamW(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 0.0025},
                 {"betas", {0.9, 0.999}, {"beta1", "beta2"}},
                 {"eps", 1e-8},
                 {"weight_decay", 0.0},
                 {"warmup_steps", 0},
                 {"weight_lr_power", 2.0},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void ScheduleFreeAdamW::validate(const nlohmann::json& options) const {
  check_shared_options(name(), options);
  const double beta1 = options["betas"][0], warmup = options["warmup_steps"], power = options["weight_lr_power"];
  check_option(name(), "betas[0]", beta1, beta1 > 0 && beta1 < 1, "0 < betas[0] < 1 (x is recovered by dividing by it)");
  check_option(name(), "warmup_steps", warmup, warmup >= 0 && warmup == std::floor(warmup),
               "a whole number >= 0");
  check_option(name(), "weight_lr_power", power, power >= 0, "weight_lr_power >= 0");
}

void ScheduleFreeAdamW::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const bool first = state.step == 0;
  const double count = double(state.step);  // optax's step_count before this step
  const double t = double(++state.step);
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1);
  const double warmup = group.number("warmup_steps"), power = group.number("weight_lr_power");
  const double base_lr = group.number("lr");
  auto scheduled = [&](double at) { return warmup > 0 && at < warmup ? base_lr * (at / warmup) : base_lr; };
  // z moves with the rate at this step's count; the averaging weight uses the rate one count later (as
  // optax 0.2.8 does: its weight reads the schedule at the incremented step count).
  const double lr = scheduled(count);
  double& weight_sum = state.scalars[0];
  double& max_lr = state.scalars[1];
  max_lr = std::max(max_lr, scheduled(count + 1));
  const double weight = std::pow(max_lr, power);
  weight_sum += weight;
  const double averaging = weight_sum > 0 ? weight / weight_sum : 0.0;
  const double multiplier = grad_multiplier(group), eps = group.number("eps"), wd = group.number("weight_decay");
  run_rule<ScheduleFreeAdamWRule>(segment, [&]<class T>() {
    return ScheduleFreeStep<T>{T(multiplier), T(beta1), T(1.0 - beta1),
                               T(beta2),      T(1.0 - beta2), T(1.0 - std::pow(beta2, t)),
                               T(eps),        T(lr),    T(wd),
                               T(averaging),  first};
  });
}

}  // namespace descent::optim
