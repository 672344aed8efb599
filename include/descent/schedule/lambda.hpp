#pragma once
// Schedules driven by a user function of the step (PyTorch 2.11 semantics).
//   LambdaLR          base * lr_lambda(t)
//   MultiplicativeLR  base * prod_{i=1..t} lr_lambda(i)   (lr_lambda(0) is never called, as in PyTorch)
// A pure lr_lambda makes LambdaLR pure: resuming at step k needs no state. A function object that keeps
// state of its own (PyTorch saves such an object's __dict__) passes FunctionState hooks; state() then
// carries what `save` returns under "function" and load_state() hands it back to `load`.
// MultiplicativeLR keeps the running product and the step it belongs to, so that consecutive steps cost
// one call each; state() saves both and load_state() restores them bit for bit, so a resumed run continues
// from the saved product without replaying lr_lambda. Its cache makes value() not safe to call from two
// threads at once.
// Inside ChainedScheduler, LambdaLR overwrites the rate (base * lr_lambda(t)) and MultiplicativeLR
// multiplies it by lr_lambda(t) for t >= 1, as PyTorch's get_lr() does.
// Deviation: as a later part of SequentialLR, PyTorch's MultiplicativeLR has no closed form for its restart
// (step(0)), so it continues from the rate the previous scheduler left and multiplies it by lr_lambda(0) at
// the milestone, then by lr_lambda(i) after i more steps; here the part starts from the base, as every other
// part does, and lr_lambda(0) is never called.
#include <functional>

#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

using StepFunction = std::function<double(std::int64_t step)>;

struct FunctionState {
  std::function<nlohmann::json()> save;               // both set, or neither
  std::function<void(const nlohmann::json&)> load;
};

class LambdaLR final : public Schedule {
 public:
  explicit LambdaLR(StepFunction lr_lambda, FunctionState function_state = {});
  std::string name() const override { return "lambdalr"; }
  nlohmann::json state() const override;  // null, or {"function": ...} with FunctionState hooks
  void load_state(const nlohmann::json& state) override;

 private:
  double compute(std::int64_t step, double base) const override;
  StepFunction lr_lambda_;
  FunctionState function_state_;
};

class MultiplicativeLR final : public Schedule {
 public:
  explicit MultiplicativeLR(StepFunction lr_lambda, FunctionState function_state = {});
  std::string name() const override { return "multiplicativelr"; }
  double chained(std::int64_t step, double current, double base) const override;
  // {"step": s, "product": prod_{i=1..s} lr_lambda(i)}, plus "function" with FunctionState hooks
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;

 private:
  double compute(std::int64_t step, double base) const override;
  StepFunction lr_lambda_;
  FunctionState function_state_;
  mutable std::int64_t cached_step_ = 0;
  mutable double cached_product_ = 1.0;
};

}  // namespace descent::schedule
