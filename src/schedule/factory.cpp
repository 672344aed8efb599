#include "descent/schedule/factory.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

#include "descent/core/error.hpp"
#include "descent/core/options.hpp"
#include "descent/schedule/compose.hpp"
#include "descent/schedule/cosine.hpp"
#include "descent/schedule/cyclic.hpp"
#include "descent/schedule/lambda.hpp"
#include "descent/schedule/one_cycle.hpp"
#include "descent/schedule/piecewise.hpp"
#include "descent/schedule/plateau.hpp"
#include "descent/schedule/step_decay.hpp"
#include "descent/schedule/warmup.hpp"
#include "check.hpp"

namespace descent::schedule {

namespace {

using Builder = std::function<SchedulePtr(OptionTable&)>;

// `schedulers`: [name, options] pairs or {"name": ..., "options": {...}} objects, built recursively. Read
// after finish(), so that an unknown option is reported first.
std::vector<SchedulePtr> build_parts(OptionTable& o, const nlohmann::json* list) {
  const std::string form = "a non-empty list of [name, options] pairs or {name = ..., options = {...}} tables";
  if (!list || !list->is_array() || list->empty()) o.fail("schedulers", form);
  std::vector<SchedulePtr> parts;
  for (const auto& entry : *list) {
    if (entry.is_array() && (entry.size() == 1 || entry.size() == 2) && entry[0].is_string()) {
      parts.push_back(make_schedule(entry[0].get<std::string>(), entry.size() == 2 ? entry[1] : nlohmann::json()));
    } else if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
      OptionTable part(entry, o.context(), "schedulers[" + std::to_string(parts.size()) + "]");
      const std::string name = part.text("name", "");
      const nlohmann::json options = part.any("options");
      part.finish();
      parts.push_back(make_schedule(name, options));
    } else {
      o.fail("schedulers", form);
    }
  }
  return parts;
}

SchedulePtr build_lambda(OptionTable& o) {
  auto factors = o.numbers("factors");
  o.finish();
  if (!factors || factors->empty())
    o.fail("factors", "a non-empty list of numbers (factor of step t: factors[min(t, n-1)]); a function needs the C++ API");
  return std::make_shared<LambdaLR>([table = std::move(*factors)](std::int64_t step) {
    const auto last = static_cast<std::int64_t>(table.size()) - 1;
    return table[static_cast<std::size_t>(std::min(step, last))];
  });
}

SchedulePtr build_multiplicative(OptionTable& o) {
  const double factor = o.required_number("factor");
  o.finish();
  return std::make_shared<MultiplicativeLR>([factor](std::int64_t) { return factor; });
}

SchedulePtr build_step(OptionTable& o) {
  const auto step_size = o.required_integer("step_size");
  const double gamma = o.number("gamma", 0.1);
  o.finish();
  return std::make_shared<StepLR>(step_size, gamma);
}

SchedulePtr build_multistep(OptionTable& o) {
  auto milestones = o.required_integers("milestones", "a list of increasing steps, e.g. [30, 80]");
  const double gamma = o.number("gamma", 0.1);
  o.finish();
  return std::make_shared<MultiStepLR>(std::move(*milestones), gamma);
}

SchedulePtr build_constant(OptionTable& o) {
  const double factor = o.number("factor", 1.0 / 3.0);
  const auto total_iters = o.integer("total_iters", 5);
  o.finish();
  return std::make_shared<ConstantLR>(factor, total_iters);
}

SchedulePtr build_linear(OptionTable& o) {
  const double start = o.number("start_factor", 1.0 / 3.0);
  const double end = o.number("end_factor", 1.0);
  const auto total_iters = o.integer("total_iters", 5);
  o.finish();
  return std::make_shared<LinearLR>(start, end, total_iters);
}

SchedulePtr build_exponential(OptionTable& o) {
  const double gamma = o.required_number("gamma");
  o.finish();
  return std::make_shared<ExponentialLR>(gamma);
}

SchedulePtr build_polynomial(OptionTable& o) {
  const auto total_iters = o.integer("total_iters", 5);
  const double power = o.number("power", 1.0);
  o.finish();
  return std::make_shared<PolynomialLR>(total_iters, power);
}

SchedulePtr build_cosine(OptionTable& o) {
  const auto T_max = o.required_integer("T_max");
  const double eta_min = o.number("eta_min", 0.0);
  o.finish();
  return std::make_shared<CosineAnnealingLR>(T_max, eta_min);
}

SchedulePtr build_warm_restarts(OptionTable& o) {
  const auto T_0 = o.required_integer("T_0");
  const auto T_mult = o.integer("T_mult", 1);
  const double eta_min = o.number("eta_min", 0.0);
  o.finish();
  return std::make_shared<CosineAnnealingWarmRestarts>(T_0, T_mult, eta_min);
}

SchedulePtr build_chained(OptionTable& o) {
  const auto* list = o.raw("schedulers");
  o.finish();
  return std::make_shared<ChainedScheduler>(build_parts(o, list));
}

SchedulePtr build_sequential(OptionTable& o) {
  const auto* list = o.raw("schedulers");
  auto milestones = o.required_integers("milestones", "a list of increasing steps, one fewer than schedulers");
  o.finish();
  return std::make_shared<SequentialLR>(build_parts(o, list), std::move(*milestones));
}

SchedulePtr build_cyclic(OptionTable& o) {
  CyclicOptions c;
  c.base_lr = o.required_number("base_lr");
  c.max_lr = o.required_number("max_lr");
  c.step_size_up = o.integer("step_size_up", c.step_size_up);
  c.step_size_down = o.integer("step_size_down");
  c.mode = o.text("mode", c.mode);
  c.gamma = o.number("gamma", c.gamma);
  const auto scale_mode = o.text("scale_mode");
  c.cycle_momentum = o.flag("cycle_momentum", c.cycle_momentum);
  c.base_momentum = o.number("base_momentum", c.base_momentum);
  c.max_momentum = o.number("max_momentum", c.max_momentum);
  o.finish();
  const std::string own_scale_mode = c.mode == "exp_range" ? "iterations" : "cycle";
  if (scale_mode && *scale_mode != own_scale_mode)
    o.fail("scale_mode", "\"" + own_scale_mode + "\" for mode \"" + c.mode +
                             "\" (another scale_mode needs a custom scale_fn, which only the C++ API takes)");
  return std::make_shared<CyclicLR>(std::move(c));
}

SchedulePtr build_one_cycle(OptionTable& o) {
  OneCycleOptions c;
  c.max_lr = o.required_number("max_lr");
  const auto total_steps = o.integer("total_steps");
  const auto epochs = o.integer("epochs");
  const auto steps_per_epoch = o.integer("steps_per_epoch");
  c.pct_start = o.number("pct_start", c.pct_start);
  c.anneal_strategy = o.text("anneal_strategy", c.anneal_strategy);
  c.cycle_momentum = o.flag("cycle_momentum", c.cycle_momentum);
  c.base_momentum = o.number("base_momentum", c.base_momentum);
  c.max_momentum = o.number("max_momentum", c.max_momentum);
  c.div_factor = o.number("div_factor", c.div_factor);
  c.final_div_factor = o.number("final_div_factor", c.final_div_factor);
  c.three_phase = o.flag("three_phase", c.three_phase);
  o.finish();
  if (total_steps) {
    c.total_steps = *total_steps;
  } else {
    if (!epochs || !steps_per_epoch) o.fail("total_steps", "an integer >= 1, or both epochs and steps_per_epoch");
    detail::require(*epochs >= 1, "onecyclelr", "epochs", *epochs, "an integer >= 1");
    detail::require(*steps_per_epoch >= 1, "onecyclelr", "steps_per_epoch", *steps_per_epoch, "an integer >= 1");
    c.total_steps = *epochs * *steps_per_epoch;
  }
  return std::make_shared<OneCycleLR>(std::move(c));
}

SchedulePtr build_plateau(OptionTable& o) {
  PlateauOptions c;
  c.mode = o.text("mode", c.mode);
  c.factor = o.number("factor", c.factor);
  c.patience = o.integer("patience", c.patience);
  c.threshold = o.number("threshold", c.threshold);
  c.threshold_mode = o.text("threshold_mode", c.threshold_mode);
  c.cooldown = o.integer("cooldown", c.cooldown);
  c.min_lr = o.number("min_lr", c.min_lr);
  c.eps = o.number("eps", c.eps);
  o.finish();
  return std::make_shared<ReduceLROnPlateau>(std::move(c));
}

SchedulePtr build_warmup_cosine(OptionTable& o) {
  const auto warmup = o.integer("warmup_steps", 0);
  const auto total = o.required_integer("total_steps");
  const double start = o.number("start_factor", 0.0);
  const double end = o.number("end_factor", 0.0);
  const double exponent = o.number("exponent", 1.0);
  o.finish();
  return std::make_shared<WarmupCosine>(warmup, total, start, end, exponent);
}

SchedulePtr build_warmup_linear(OptionTable& o) {
  const auto warmup = o.integer("warmup_steps", 0);
  const auto total = o.required_integer("total_steps");
  const double start = o.number("start_factor", 0.0);
  const double end = o.number("end_factor", 0.0);
  o.finish();
  return std::make_shared<WarmupLinear>(warmup, total, start, end);
}

SchedulePtr build_inverse_sqrt(OptionTable& o) {
  const auto warmup = o.integer("warmup_steps", 0);
  const auto timescale = o.integer("timescale", 0);
  o.finish();
  return std::make_shared<InverseSqrt>(warmup, timescale);
}

SchedulePtr build_wsd(OptionTable& o) {
  WarmupStableDecayOptions c;
  c.warmup_steps = o.integer("warmup_steps", c.warmup_steps);
  c.stable_steps = o.integer("stable_steps", c.stable_steps);
  c.decay_steps = o.required_integer("decay_steps");
  c.start_factor = o.number("start_factor", c.start_factor);
  c.end_factor = o.number("end_factor", c.end_factor);
  c.decay_type = o.text("decay_type", c.decay_type);
  o.finish();
  return std::make_shared<WarmupStableDecay>(std::move(c));
}

SchedulePtr build_piecewise(OptionTable& o) {
  auto boundaries = o.integers("boundaries").value_or(std::vector<std::int64_t>{});
  auto scales = o.numbers("scales").value_or(std::vector<double>{});
  o.finish();
  return std::make_shared<PiecewiseConstant>(std::move(boundaries), std::move(scales));
}

// Every builder reads all of its options, calls finish() (unknown, then missing options), then constructs
// (the constructors check the values).
const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> table = {
      {"lambdalr", build_lambda},
      {"multiplicativelr", build_multiplicative},
      {"steplr", build_step},
      {"multisteplr", build_multistep},
      {"constantlr", build_constant},
      {"linearlr", build_linear},
      {"exponentiallr", build_exponential},
      {"polynomiallr", build_polynomial},
      {"cosineannealinglr", build_cosine},
      {"cosineannealingwarmrestarts", build_warm_restarts},
      {"chainedscheduler", build_chained},
      {"sequentiallr", build_sequential},
      {"reducelronplateau", build_plateau},
      {"cycliclr", build_cyclic},
      {"onecyclelr", build_one_cycle},
      {"warmup_cosine", build_warmup_cosine},
      {"warmup_linear", build_warmup_linear},
      {"inverse_sqrt", build_inverse_sqrt},
      {"warmup_stable_decay", build_wsd},
      {"piecewise_constant", build_piecewise},
  };
  return table;
}

}  // namespace

std::vector<std::string> schedule_names() {
  std::vector<std::string> names;
  for (const auto& [name, builder] : builders()) names.push_back(name);
  return names;
}

SchedulePtr make_schedule(std::string_view name, const nlohmann::json& options) {
  std::string key(name);
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto& table = builders();
  const auto it = table.find(key);
  if (it == table.end()) {
    const std::string suggestion = closest_match(key, schedule_names());
    throw Error(descent::detail::concat("unknown schedule '", name, "'",
                                        suggestion.empty() ? "" : " (did you mean " + suggestion + "?)",
                                        "; valid schedules: ", join(schedule_names())));
  }
  OptionTable reader(options, key);
  return it->second(reader);
}

}  // namespace descent::schedule
