#pragma once
// Composition of schedules.
//
// SequentialLR (join at boundaries, like PyTorch's SequentialLR and Optax's join_schedules): schedule i
//   runs from milestone i-1 (0 for the first) and sees its own local step t - milestone[i-1], starting
//   from the base again; PyTorch does the same by calling step(0) on each scheduler at its milestone.
// ChainedScheduler (multiply, like PyTorch's ChainedScheduler): each schedule's output is the base of
//   the next, value = s_n(t, ... s_2(t, s_1(t, base))). For factor schedules (ConstantLR, ExponentialLR,
//   StepLR, ...) this is the product of their factors, which is what PyTorch's recursive chain computes.
//   A ReduceLROnPlateau placed last multiplies whatever the rest of the chain gives.
// Momentum: a sequence reports the momentum of its active part; a chain the last part that cycles it.
// observe(step, metric): a sequence routes the metric to the part active at `step` (in its local step),
//   so a plateau placed after a warm-up ignores warm-up metrics; a chain gives it to every part.
#include <vector>

#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

class SequentialLR final : public Schedule {
 public:
  SequentialLR(std::vector<SchedulePtr> schedulers, std::vector<std::int64_t> milestones);
  std::string name() const override { return "sequentiallr"; }
  void observe(std::int64_t step, double metric) override;
  nlohmann::json state() const override;  // array of the parts' states
  void load_state(const nlohmann::json& state) override;

 private:
  double compute(std::int64_t step, double base) const override;
  std::optional<double> compute_momentum(std::int64_t step) const override;
  std::size_t active(std::int64_t step) const;
  std::int64_t local_step(std::size_t part, std::int64_t step) const;
  std::vector<SchedulePtr> schedulers_;
  std::vector<std::int64_t> milestones_;
};

class ChainedScheduler final : public Schedule {
 public:
  explicit ChainedScheduler(std::vector<SchedulePtr> schedulers);
  std::string name() const override { return "chainedscheduler"; }
  void observe(std::int64_t step, double metric) override;
  nlohmann::json state() const override;  // array of the parts' states
  void load_state(const nlohmann::json& state) override;

 private:
  double compute(std::int64_t step, double base) const override;
  std::optional<double> compute_momentum(std::int64_t step) const override;
  std::vector<SchedulePtr> schedulers_;
};

}  // namespace descent::schedule
