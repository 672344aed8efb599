#pragma once
// Builds any schedule from its name and JSON options, with PyTorch's names (case-insensitive):
//   lambdalr {factors: [f0, f1, ...]}            (factor of step t: factors[min(t, n-1)])
//   multiplicativelr {factor}                    (the same factor at every step)
//   steplr {step_size, gamma}   multisteplr {milestones, gamma}   constantlr {factor, total_iters}
//   linearlr {start_factor, end_factor, total_iters}   exponentiallr {gamma}
//   polynomiallr {total_iters, power}   cosineannealinglr {T_max, eta_min}
//   cosineannealingwarmrestarts {T_0, T_mult, eta_min}
//   chainedscheduler {schedulers}   sequentiallr {schedulers, milestones}
//   reducelronplateau {mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps}
//   cycliclr {base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_mode, cycle_momentum,
//             base_momentum, max_momentum}
//   onecyclelr {max_lr, total_steps | epochs + steps_per_epoch, pct_start, anneal_strategy, cycle_momentum,
//               base_momentum, max_momentum, div_factor, final_div_factor, three_phase}
//   warmup_cosine {warmup_steps, total_steps, start_factor, end_factor, exponent}
//   warmup_linear {warmup_steps, total_steps, start_factor, end_factor}
//   inverse_sqrt {warmup_steps, timescale}
//   warmup_stable_decay {warmup_steps, stable_steps, decay_steps, start_factor, end_factor, decay_type}
//   piecewise_constant {boundaries, scales}
// `schedulers` is a list whose entries are [name, options] pairs or {"name": ..., "options": {...}}.
// Unknown names and options throw descent::Error listing the valid ones; bad values name the option,
// the value and the accepted range. Per-group lists (PyTorch's max_lr=[...]) are not taken: bind one
// schedule per group set instead.
#include <string>
#include <string_view>
#include <vector>

#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

SchedulePtr make_schedule(std::string_view name, const nlohmann::json& options = nlohmann::json::object());

// The names make_schedule accepts, sorted.
std::vector<std::string> schedule_names();

}  // namespace descent::schedule
