#pragma once
// Which param groups and which hyperparameter a schedule drives. The schedule layer does not know
// optimizers: the trainer captures each group's value when it binds (PyTorch's `initial_lr`), asks
// values_at(step) before each step and applies every entry with
// Optimizer::set_hyperparameter(group, name, value).
//
//   ScheduleBinding warmup{make_schedule("linearlr", {{"total_iters", 100}}), "lr", {0, 1}, {0.1, 0.01}};
//   for (const auto& v : warmup.values_at(step)) optimizer.set_hyperparameter(v.group, v.name, v.value);
//
// Schedules that cycle momentum (CyclicLR, OneCycleLR) add one entry per group for
// `cycled_momentum_name`: "momentum" for SGD-like optimizers, "beta1" for Adam-like ones (PyTorch
// cycles betas[0] when the optimizer has betas).
#include <cstddef>
#include <string>
#include <vector>

#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

struct HyperparameterValue {
  std::size_t group;
  std::string name;
  double value;
};

struct ScheduleBinding {
  SchedulePtr schedule;
  std::string hyperparameter = "lr";
  std::vector<std::size_t> groups;          // param groups driven
  std::vector<double> base_values;          // each group's value when bound, one per group
  std::string cycled_momentum_name = "momentum";

  // Throws when the schedule is null, the name empty, or groups and base_values differ in length.
  void validate() const;

  // The values in force for `step`: one per group for `hyperparameter`, plus one per group for
  // `cycled_momentum_name` when the schedule cycles momentum.
  std::vector<HyperparameterValue> values_at(std::int64_t step) const;

  // Feeds a metric measured after `step` to the schedule (ReduceLROnPlateau and compositions holding one).
  void observe(std::int64_t step, double metric) const;

  // {"hyperparameter", "groups", "base_values", "schedule"}: the bases are saved because the optimizer's
  // current value is the scheduled one, not the one the schedule started from.
  nlohmann::json state() const;
  // Restores the bases and the schedule state; the hyperparameter and groups must match this binding.
  void load_state(const nlohmann::json& state);
};

}  // namespace descent::schedule
