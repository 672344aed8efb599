#pragma once
// PyTorch's multiplicative-factor schedulers, as closed forms of the step t (PyTorch 2.11 semantics):
//   StepLR         base * gamma^floor(t / step_size)
//   MultiStepLR    base * gamma^(number of milestones <= t)
//   ConstantLR     base * factor for t < total_iters, then base
//   LinearLR       base * (start + (end - start) * min(t, total_iters) / total_iters)
//   ExponentialLR  base * gamma^t
//   PolynomialLR   base * (1 - min(t, total_iters) / total_iters)^power
// PyTorch steps these recursively (lr_t = lr_{t-1} * ratio); alone, the closed forms agree with it to
// rounding (PyTorch itself uses them in `step(epoch)` and inside SequentialLR). Inside ChainedScheduler the
// recursion is what counts, so each also gives its one-step form, chained(), as PyTorch's get_lr() writes it.
// ConstantLR with total_iters = 0 applies the factor for ever: PyTorch applies it at step 0 and undoes it
// only at step total_iters, which never comes again; as a later part of SequentialLR, PyTorch's closed form
// at the milestone gives the base instead (restarted()).
// Stricter than PyTorch, deliberately (docs/SEMANTICS.md): MultiStepLR requires strictly increasing
// milestones (PyTorch counts repeats), and LinearLR and PolynomialLR require total_iters >= 1 (PyTorch's
// closed forms divide by total_iters).
#include <vector>

#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

class StepLR final : public Schedule {
 public:
  explicit StepLR(std::int64_t step_size, double gamma = 0.1);
  std::string name() const override { return "steplr"; }
  double chained(std::int64_t step, double current, double base) const override;

 private:
  double compute(std::int64_t step, double base) const override;
  std::int64_t step_size_;
  double gamma_;
};

class MultiStepLR final : public Schedule {
 public:
  explicit MultiStepLR(std::vector<std::int64_t> milestones, double gamma = 0.1);
  std::string name() const override { return "multisteplr"; }
  double chained(std::int64_t step, double current, double base) const override;

 private:
  double compute(std::int64_t step, double base) const override;
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

class ConstantLR final : public Schedule {
 public:
  explicit ConstantLR(double factor = 1.0 / 3.0, std::int64_t total_iters = 5);
  std::string name() const override { return "constantlr"; }
  double chained(std::int64_t step, double current, double base) const override;
  double restarted(std::int64_t step, double base) const override;

 private:
  double compute(std::int64_t step, double base) const override;
  double factor_;
  std::int64_t total_iters_;
};

class LinearLR final : public Schedule {
 public:
  explicit LinearLR(double start_factor = 1.0 / 3.0, double end_factor = 1.0, std::int64_t total_iters = 5);
  std::string name() const override { return "linearlr"; }
  double chained(std::int64_t step, double current, double base) const override;

 private:
  double compute(std::int64_t step, double base) const override;
  double start_factor_;
  double end_factor_;
  std::int64_t total_iters_;
};

class ExponentialLR final : public Schedule {
 public:
  explicit ExponentialLR(double gamma);
  std::string name() const override { return "exponentiallr"; }
  double chained(std::int64_t step, double current, double base) const override;

 private:
  double compute(std::int64_t step, double base) const override;
  double gamma_;
};

class PolynomialLR final : public Schedule {
 public:
  explicit PolynomialLR(std::int64_t total_iters = 5, double power = 1.0);
  std::string name() const override { return "polynomiallr"; }
  double chained(std::int64_t step, double current, double base) const override;

 private:
  double compute(std::int64_t step, double base) const override;
  std::int64_t total_iters_;
  double power_;
};

}  // namespace descent::schedule
