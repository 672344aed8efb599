#pragma once
// CyclicLR (Smith, "Cyclical Learning Rates for Training Neural Networks", 2017), PyTorch 2.11 semantics.
// With total = step_size_up + step_size_down and ratio = step_size_up / total, at step t:
//   cycle = floor(1 + t / total), x = 1 + t / total - cycle
//   scale = x / ratio while x <= ratio (rising), else (x - 1) / (ratio - 1) (falling)
//   lr = base_lr + (max_lr - base_lr) * scale * scale_fn(cycle or t)
//   momentum = max_momentum - (max_momentum - base_momentum) * scale * scale_fn(cycle or t)
// mode: triangular (scale_fn 1, per cycle), triangular2 (1 / 2^(cycle-1), per cycle), exp_range
// (gamma^t, per step). A custom scale_fn replaces the mode and is evaluated per `scale_mode`.
// step_size_down = 0 is a sawtooth (the rate rises for step_size_up steps and drops back at once), as in
// PyTorch, which takes any number given and step_size_up only for None.
// base_lr and max_lr are absolute, as in PyTorch: the base value passed to value() is ignored.
// The optimizer's momentum (or Adam's beta1; the binding chooses) follows when cycle_momentum is true.
#include <functional>

#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

struct CyclicOptions {
  double base_lr = 0.0;                         // required (PyTorch has no default)
  double max_lr = 0.0;                          // required
  std::int64_t step_size_up = 2000;             // >= 1
  std::optional<std::int64_t> step_size_down;   // >= 0; absent: equal to step_size_up (PyTorch's None)
  std::string mode = "triangular";              // triangular | triangular2 | exp_range
  double gamma = 1.0;                           // exp_range only
  std::function<double(double)> scale_fn;       // replaces mode when set
  std::string scale_mode = "cycle";             // cycle | iterations; only with scale_fn
  bool cycle_momentum = true;
  double base_momentum = 0.8;
  double max_momentum = 0.9;
};

class CyclicLR final : public Schedule {
 public:
  explicit CyclicLR(CyclicOptions options);
  std::string name() const override { return "cycliclr"; }

 private:
  double compute(std::int64_t step, double base) const override;
  std::optional<double> compute_momentum(std::int64_t step) const override;
  struct Position {
    double scale;     // 0 -> 1 while rising, 1 -> 0 while falling
    double scale_by;  // scale_fn(cycle or step)
  };
  Position position(std::int64_t step) const;
  CyclicOptions options_;
  double total_size_;
  double step_ratio_;
};

}  // namespace descent::schedule
