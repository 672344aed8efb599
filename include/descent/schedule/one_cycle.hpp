#pragma once
// OneCycleLR (Smith & Topin, "Super-Convergence", 2018), PyTorch 2.11 semantics.
// initial_lr = max_lr / div_factor, min_lr = initial_lr / final_div_factor, and with p = pct_start,
// T = total_steps, the phases end at steps (each annealed by cos or linear between its two ends):
//   two phases:   p*T - 1: initial -> max;   T - 1: max -> min
//   three_phase:  p*T - 1: initial -> max;   2*p*T - 2: max -> initial;   T - 1: initial -> min
// Momentum (or beta1) runs the other way between max_momentum and base_momentum when cycle_momentum.
// cos anneal: end + (start - end) / 2 * (1 + cos(pi * pct)); linear: start + (end - start) * pct.
// Rates are absolute (the base value passed to value() is ignored), as PyTorch overwrites the group lr.
// As in PyTorch, asking for a step beyond total_steps is an error.
#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

struct OneCycleOptions {
  double max_lr = 0.0;                   // required
  std::int64_t total_steps = 0;          // required (the factory also takes epochs * steps_per_epoch)
  double pct_start = 0.3;                // [0, 1]
  std::string anneal_strategy = "cos";   // cos | linear
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25.0;              // > 0
  double final_div_factor = 1e4;         // > 0
  bool three_phase = false;
};

class OneCycleLR final : public Schedule {
 public:
  explicit OneCycleLR(OneCycleOptions options);
  std::string name() const override { return "onecyclelr"; }

 private:
  struct Phase {
    double end_step;
    double start_lr, end_lr;
    double start_momentum, end_momentum;
  };
  struct Point {
    const Phase* phase;
    double pct;
  };
  double compute(std::int64_t step, double base) const override;
  std::optional<double> compute_momentum(std::int64_t step) const override;
  Point locate(std::int64_t step) const;
  double anneal(double start, double end, double pct) const;
  OneCycleOptions options_;
  std::vector<Phase> phases_;
};

}  // namespace descent::schedule
