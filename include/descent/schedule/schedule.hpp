#pragma once
// Hyperparameter schedules: the value of a hyperparameter (lr, momentum, weight_decay, ...) as a function
// of the step. A schedule yields the value in force for step `step` (0-based; read before that step's
// update) given the base value it scales (PyTorch's `initial_lr` of a param group).
//
// Schedules are pure functions of (step, base) wherever the math allows, as in Optax, so that resuming at
// step k gives exactly the values of an uninterrupted run. The few that learn from the run
// (ReduceLROnPlateau) or cache a running product (MultiplicativeLR) keep explicit state that `state()`
// returns as JSON and `load_state()` restores exactly.
//
// The layer knows nothing of optimizers: a ScheduleBinding (binding.hpp) names the param groups and the
// hyperparameter a schedule drives, and the trainer applies the values.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace descent::schedule {

class Schedule {
 public:
  virtual ~Schedule() = default;

  // The value in force for `step` (>= 0), given the base value of the hyperparameter.
  double value(std::int64_t step, double base) const;

  // Cyclic schedules (CyclicLR, OneCycleLR) also cycle momentum (or Adam's beta1) against the learning
  // rate; they return the momentum in force for `step`. Every other schedule returns nullopt.
  std::optional<double> momentum(std::int64_t step) const;

  // Feeds a metric measured after step `step` (ReduceLROnPlateau reacts; compositions route it to their
  // parts; every other schedule ignores it).
  virtual void observe(std::int64_t step, double metric);

  // Explicit state of the stateful schedules (null for pure ones); load_state restores it exactly.
  virtual nlohmann::json state() const;
  virtual void load_state(const nlohmann::json& state);

  // Lower-case PyTorch name ("steplr", "onecyclelr", ...), used in messages and by the CLI.
  virtual std::string name() const = 0;

  // ---- how compositions use a part (compose.hpp)
  // Inside ChainedScheduler: the rate after this part at `step`, given the rate `current` that the previous
  // step and the parts before it left, as PyTorch's chainable get_lr() computes it from group["lr"]. The
  // schedulers PyTorch steps from group["lr"] (StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR,
  // PolynomialLR, CosineAnnealingLR, MultiplicativeLR) override it; every other one overwrites the rate with
  // value(step, base), as PyTorch's LambdaLR, CosineAnnealingWarmRestarts, CyclicLR and OneCycleLR do.
  virtual double chained(std::int64_t step, double current, double base) const;
  // Inside ChainedScheduler: true for the schedules PyTorch has no chain form of (descent's warm-up forms,
  // inverse_sqrt, warmup_stable_decay, piecewise_constant, and ReduceLROnPlateau): they multiply the chain's
  // rate by their own factor, value(step, rate), after the PyTorch parts have stepped.
  virtual bool multiplies_in_chain() const { return false; }
  // Inside SequentialLR, as a part after the first: its rate `step` steps after its milestone. PyTorch
  // restarts such a part with its closed form at the milestone (step(0)) and steps it chainably from there,
  // which equals value(step, base) for every schedule but ConstantLR with total_iters = 0.
  virtual double restarted(std::int64_t step, double base) const { return value(step, base); }

 protected:
  virtual double compute(std::int64_t step, double base) const = 0;
  virtual std::optional<double> compute_momentum(std::int64_t step) const;
};

using SchedulePtr = std::shared_ptr<Schedule>;

}  // namespace descent::schedule
