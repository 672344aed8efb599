#pragma once
// PiecewiseConstant (Optax 0.2.8 piecewise_constant_schedule): base times the product of every scale whose
// boundary the step has reached, value(t) = base * prod_{b_i <= t} s_i. Optax's indicator
// max(0, sign(b_i - count)) is 0 at count == b_i, so a scale at boundary 10 applies from step 10 on, as
// MultiStepLR's milestones do.
#include <vector>

#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

class PiecewiseConstant final : public Schedule {
 public:
  PiecewiseConstant(std::vector<std::int64_t> boundaries, std::vector<double> scales);
  std::string name() const override { return "piecewise_constant"; }
  bool multiplies_in_chain() const override { return true; }

 private:
  double compute(std::int64_t step, double base) const override;
  std::vector<std::int64_t> boundaries_;
  std::vector<double> scales_;
};

}  // namespace descent::schedule
