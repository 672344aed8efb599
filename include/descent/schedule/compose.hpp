#pragma once
// Composition of schedules.
//
// SequentialLR (join at boundaries, like PyTorch's SequentialLR and Optax's join_schedules): schedule i
//   runs from milestone i-1 (0 for the first) and sees its own local step t - milestone[i-1], starting
//   from the base again; PyTorch does the same by calling step(0) on each scheduler at its milestone
//   (Schedule::restarted).
// ChainedScheduler (PyTorch's ChainedScheduler): at every step each part steps in turn on the rate the
//   parts before it left, starting from the previous step's rate (from the base at step 0), with PyTorch's
//   one-step forms (Schedule::chained). Factor schedules (ConstantLR, ExponentialLR, StepLR, ...) multiply
//   it by their one-step ratio; LambdaLR, CosineAnnealingWarmRestarts, CyclicLR and OneCycleLR overwrite it
//   from the base, so the parts before the last overwriting one only matter through it. For example,
//   [LambdaLR 1/(t+1), ExponentialLR 0.5] gives 0.1, 0.025, 0.0167, 0.0125 from base 0.1: lambda(t) * 0.5
//   for t >= 1, not lambda(t) * 0.5^t. The rate is computed forward from step 0 and cached, so consecutive
//   steps cost one step of each part (value() is not safe to call from two threads at once), and a resumed
//   run recomputes it exactly. A nested ChainedScheduler is flattened into its parts, as PyTorch's step()
//   of a nested chain steps each of them.
// Extensions beyond PyTorch (which refuses them): a ReduceLROnPlateau part, and descent's own closed forms
//   (warm-up forms, inverse_sqrt, warmup_stable_decay, piecewise_constant), multiply the chain's rate by
//   their own factor after the PyTorch parts have stepped (Schedule::multiplies_in_chain); a SequentialLR
//   part steps its active part chainably and restarts the next one from the base at its milestone.
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
  double chained(std::int64_t step, double current, double base) const override;

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
  double chained(std::int64_t step, double current, double base) const override;

 private:
  double compute(std::int64_t step, double base) const override;
  std::optional<double> compute_momentum(std::int64_t step) const override;
  // The rate after every stepping part (those not multiplies_in_chain) at `step`.
  double stepped(std::int64_t step, double current, double base) const;
  double multiplied(std::int64_t step, double rate) const;
  std::vector<SchedulePtr> schedulers_;  // as given (state() and load_state() follow this list)
  std::vector<SchedulePtr> parts_;       // nested chains flattened
  mutable std::int64_t cached_step_ = -1;
  mutable double cached_base_ = 0.0, cached_rate_ = 0.0;
};

}  // namespace descent::schedule
