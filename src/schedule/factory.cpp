#include "descent/schedule/factory.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

#include "descent/core/error.hpp"
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
#include "options.hpp"

namespace descent::schedule {

namespace {

using detail::OptionReader;
using Builder = std::function<SchedulePtr(OptionReader&)>;

std::vector<SchedulePtr> read_schedulers(OptionReader& options, const std::string& schedule) {
  const auto* list = options.raw("schedulers");
  DESCENT_CHECK(list != nullptr, schedule, ": option 'schedulers' is required: expected a list of ",
                "[name, options] pairs");
  DESCENT_CHECK(list->is_array() && !list->empty(), schedule, ": option 'schedulers' = ", list->dump(),
                " is invalid: expected a non-empty list of [name, options] pairs");
  std::vector<SchedulePtr> parts;
  for (const auto& entry : *list) {
    if (entry.is_array() && (entry.size() == 1 || entry.size() == 2) && entry[0].is_string()) {
      parts.push_back(make_schedule(entry[0].get<std::string>(), entry.size() == 2 ? entry[1] : nlohmann::json()));
    } else if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
      for (const auto& [key, value] : entry.items()) {
        DESCENT_CHECK(key == "name" || key == "options", schedule, ": schedulers entry ", entry.dump(),
                      " has unknown key '", key, "': expected {\"name\": ..., \"options\": {...}}");
      }
      parts.push_back(make_schedule(entry["name"].get<std::string>(), entry.value("options", nlohmann::json())));
    } else {
      throw Error(descent::detail::concat(schedule, ": schedulers entry ", entry.dump(),
                                          " is invalid: expected [name, options] or {\"name\": ..., \"options\": {...}}"));
    }
  }
  return parts;
}

SchedulePtr build_lambda(OptionReader& o) {
  auto factors = o.numbers("factors");
  DESCENT_CHECK(factors && !factors->empty(), "lambdalr: option 'factors' is required: expected a non-empty ",
                "list of numbers (factor of step t: factors[min(t, n-1)]); a function needs the C++ API");
  return std::make_shared<LambdaLR>([table = std::move(*factors)](std::int64_t step) {
    return table[static_cast<std::size_t>(std::min<std::int64_t>(step, static_cast<std::int64_t>(table.size()) - 1))];
  });
}

SchedulePtr build_cyclic(OptionReader& o) {
  CyclicOptions c;
  c.base_lr = o.required_number("base_lr");
  c.max_lr = o.required_number("max_lr");
  c.step_size_up = o.integer("step_size_up", c.step_size_up);
  c.step_size_down = o.integer("step_size_down", 0);
  c.mode = o.text("mode", c.mode);
  c.gamma = o.number("gamma", c.gamma);
  const auto scale_mode = o.text("scale_mode");
  c.cycle_momentum = o.boolean("cycle_momentum", c.cycle_momentum);
  c.base_momentum = o.number("base_momentum", c.base_momentum);
  c.max_momentum = o.number("max_momentum", c.max_momentum);
  const std::string own_scale_mode = c.mode == "exp_range" ? "iterations" : "cycle";
  DESCENT_CHECK(!scale_mode || *scale_mode == own_scale_mode, "cycliclr: option 'scale_mode' = \"",
                scale_mode.value_or(""), "\" is invalid: expected \"", own_scale_mode, "\" for mode \"", c.mode,
                "\" (another scale_mode needs a custom scale_fn, which only the C++ API takes)");
  o.finish();
  return std::make_shared<CyclicLR>(std::move(c));
}

SchedulePtr build_one_cycle(OptionReader& o) {
  OneCycleOptions c;
  c.max_lr = o.required_number("max_lr");
  const auto total_steps = o.integer("total_steps");
  const auto epochs = o.integer("epochs");
  const auto steps_per_epoch = o.integer("steps_per_epoch");
  c.pct_start = o.number("pct_start", c.pct_start);
  c.anneal_strategy = o.text("anneal_strategy", c.anneal_strategy);
  c.cycle_momentum = o.boolean("cycle_momentum", c.cycle_momentum);
  c.base_momentum = o.number("base_momentum", c.base_momentum);
  c.max_momentum = o.number("max_momentum", c.max_momentum);
  c.div_factor = o.number("div_factor", c.div_factor);
  c.final_div_factor = o.number("final_div_factor", c.final_div_factor);
  c.three_phase = o.boolean("three_phase", c.three_phase);
  o.finish();
  if (total_steps) {
    c.total_steps = *total_steps;
  } else {
    DESCENT_CHECK(epochs && steps_per_epoch, "onecyclelr: option 'total_steps' is missing: expected total_steps ",
                  "(an integer >= 1) or both epochs and steps_per_epoch");
    detail::require(*epochs >= 1, "onecyclelr", "epochs", *epochs, "an integer >= 1");
    detail::require(*steps_per_epoch >= 1, "onecyclelr", "steps_per_epoch", *steps_per_epoch, "an integer >= 1");
    c.total_steps = *epochs * *steps_per_epoch;
  }
  return std::make_shared<OneCycleLR>(std::move(c));
}

SchedulePtr build_plateau(OptionReader& o) {
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

SchedulePtr build_wsd(OptionReader& o) {
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

// Each builder reads all of its options before finish(), then constructs (constructors validate values).
template <class Make>
Builder simple(Make make) {
  return [make](OptionReader& o) {
    auto schedule = make(o);
    o.finish();
    return schedule;
  };
}

const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> table = {
      {"lambdalr", simple([](OptionReader& o) { return build_lambda(o); })},
      {"multiplicativelr", simple([](OptionReader& o) -> SchedulePtr {
         const double factor = o.required_number("factor");
         return std::make_shared<MultiplicativeLR>([factor](std::int64_t) { return factor; });
       })},
      {"steplr", simple([](OptionReader& o) -> SchedulePtr {
         const auto step_size = o.required_integer("step_size");
         return std::make_shared<StepLR>(step_size, o.number("gamma", 0.1));
       })},
      {"multisteplr", simple([](OptionReader& o) -> SchedulePtr {
         auto milestones = o.integers("milestones");
         DESCENT_CHECK(milestones.has_value(), "multisteplr: option 'milestones' is required: expected a list of ",
                       "increasing steps");
         return std::make_shared<MultiStepLR>(std::move(*milestones), o.number("gamma", 0.1));
       })},
      {"constantlr", simple([](OptionReader& o) -> SchedulePtr {
         const double factor = o.number("factor", 1.0 / 3.0);
         return std::make_shared<ConstantLR>(factor, o.integer("total_iters", 5));
       })},
      {"linearlr", simple([](OptionReader& o) -> SchedulePtr {
         const double start = o.number("start_factor", 1.0 / 3.0);
         const double end = o.number("end_factor", 1.0);
         return std::make_shared<LinearLR>(start, end, o.integer("total_iters", 5));
       })},
      {"exponentiallr", simple([](OptionReader& o) -> SchedulePtr {
         return std::make_shared<ExponentialLR>(o.required_number("gamma"));
       })},
      {"polynomiallr", simple([](OptionReader& o) -> SchedulePtr {
         const auto total_iters = o.integer("total_iters", 5);
         return std::make_shared<PolynomialLR>(total_iters, o.number("power", 1.0));
       })},
      {"cosineannealinglr", simple([](OptionReader& o) -> SchedulePtr {
         const auto T_max = o.required_integer("T_max");
         return std::make_shared<CosineAnnealingLR>(T_max, o.number("eta_min", 0.0));
       })},
      {"cosineannealingwarmrestarts", simple([](OptionReader& o) -> SchedulePtr {
         const auto T_0 = o.required_integer("T_0");
         const auto T_mult = o.integer("T_mult", 1);
         return std::make_shared<CosineAnnealingWarmRestarts>(T_0, T_mult, o.number("eta_min", 0.0));
       })},
      {"chainedscheduler", simple([](OptionReader& o) -> SchedulePtr {
         return std::make_shared<ChainedScheduler>(read_schedulers(o, "chainedscheduler"));
       })},
      {"sequentiallr", simple([](OptionReader& o) -> SchedulePtr {
         auto parts = read_schedulers(o, "sequentiallr");
         auto milestones = o.integers("milestones");
         DESCENT_CHECK(milestones.has_value(), "sequentiallr: option 'milestones' is required: expected ",
                       parts.size() - 1, " increasing steps");
         return std::make_shared<SequentialLR>(std::move(parts), std::move(*milestones));
       })},
      {"reducelronplateau", build_plateau},
      {"cycliclr", build_cyclic},
      {"onecyclelr", build_one_cycle},
      {"warmup_cosine", simple([](OptionReader& o) -> SchedulePtr {
         const auto warmup = o.integer("warmup_steps", 0);
         const auto total = o.required_integer("total_steps");
         const double start = o.number("start_factor", 0.0);
         const double end = o.number("end_factor", 0.0);
         return std::make_shared<WarmupCosine>(warmup, total, start, end, o.number("exponent", 1.0));
       })},
      {"warmup_linear", simple([](OptionReader& o) -> SchedulePtr {
         const auto warmup = o.integer("warmup_steps", 0);
         const auto total = o.required_integer("total_steps");
         const double start = o.number("start_factor", 0.0);
         return std::make_shared<WarmupLinear>(warmup, total, start, o.number("end_factor", 0.0));
       })},
      {"inverse_sqrt", simple([](OptionReader& o) -> SchedulePtr {
         const auto warmup = o.integer("warmup_steps", 0);
         return std::make_shared<InverseSqrt>(warmup, o.integer("timescale", 0));
       })},
      {"warmup_stable_decay", build_wsd},
      {"piecewise_constant", simple([](OptionReader& o) -> SchedulePtr {
         auto boundaries = o.integers("boundaries").value_or(std::vector<std::int64_t>{});
         auto scales = o.numbers("scales").value_or(std::vector<double>{});
         return std::make_shared<PiecewiseConstant>(std::move(boundaries), std::move(scales));
       })},
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
    std::string valid;
    for (const auto& [known, builder] : table) valid += (valid.empty() ? "" : ", ") + known;
    throw Error(descent::detail::concat("unknown schedule '", name, "'; valid schedules: ", valid));
  }
  OptionReader reader(key, options);
  return it->second(reader);
}

}  // namespace descent::schedule
