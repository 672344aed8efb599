#include "descent/schedule/one_cycle.hpp"

#include <cmath>
#include <numbers>

#include "check.hpp"

namespace descent::schedule {

using detail::require;

OneCycleLR::OneCycleLR(OneCycleOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  require(std::isfinite(o.max_lr) && o.max_lr > 0.0, name(), "max_lr", o.max_lr, "a finite number > 0");
  require(o.total_steps >= 1, name(), "total_steps", o.total_steps, "an integer >= 1");
  require(o.pct_start >= 0.0 && o.pct_start <= 1.0, name(), "pct_start", o.pct_start, "a number in [0, 1]");
  require(o.anneal_strategy == "cos" || o.anneal_strategy == "linear", name(), "anneal_strategy",
          o.anneal_strategy, "\"cos\" or \"linear\"");
  require(o.div_factor > 0.0, name(), "div_factor", o.div_factor, "a number > 0");
  require(o.final_div_factor > 0.0, name(), "final_div_factor", o.final_div_factor, "a number > 0");
  if (o.cycle_momentum) {
    require(o.base_momentum >= 0.0, name(), "base_momentum", o.base_momentum, "a number >= 0");
    require(o.max_momentum >= 0.0, name(), "max_momentum", o.max_momentum, "a number >= 0");
  }
  const double initial_lr = o.max_lr / o.div_factor;
  const double min_lr = initial_lr / o.final_div_factor;
  const double total = static_cast<double>(o.total_steps);
  const double warm_end = o.pct_start * total - 1.0;
  if (o.three_phase) {
    phases_ = {{warm_end, initial_lr, o.max_lr, o.max_momentum, o.base_momentum},
               {2.0 * o.pct_start * total - 2.0, o.max_lr, initial_lr, o.base_momentum, o.max_momentum},
               {total - 1.0, initial_lr, min_lr, o.max_momentum, o.max_momentum}};
  } else {
    phases_ = {{warm_end, initial_lr, o.max_lr, o.max_momentum, o.base_momentum},
               {total - 1.0, o.max_lr, min_lr, o.base_momentum, o.max_momentum}};
  }
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy == "cos") return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1.0);
  return (end - start) * pct + start;
}

// PyTorch's phase search: the first phase whose end is at or after the step, else the last.
OneCycleLR::Point OneCycleLR::locate(std::int64_t step) const {
  DESCENT_CHECK(step <= options_.total_steps, name(), ": step ", step, " is past total_steps = ",
                options_.total_steps, ": expected a step <= total_steps");
  const double t = static_cast<double>(step);
  double start_step = 0.0;
  for (std::size_t i = 0; i < phases_.size(); ++i) {
    const Phase& phase = phases_[i];
    if (t <= phase.end_step || i + 1 == phases_.size()) {
      // PyTorch divides by zero here (ZeroDivisionError); say which options cause it instead.
      DESCENT_CHECK(phase.end_step != start_step, name(), ": phase ", i + 1, " has zero length with pct_start = ",
                    options_.pct_start, " and total_steps = ", options_.total_steps,
                    ": expected pct_start * total_steps != 1");
      return {&phase, (t - start_step) / (phase.end_step - start_step)};
    }
    start_step = phase.end_step;
  }
  return {&phases_.back(), 1.0};  // not reached: the last phase always matches
}

double OneCycleLR::compute(std::int64_t step, double) const {
  const auto [phase, pct] = locate(step);
  return anneal(phase->start_lr, phase->end_lr, pct);
}

std::optional<double> OneCycleLR::compute_momentum(std::int64_t step) const {
  if (!options_.cycle_momentum) return std::nullopt;
  const auto [phase, pct] = locate(step);
  return anneal(phase->start_momentum, phase->end_momentum, pct);
}

}  // namespace descent::schedule
