#pragma once
// PiecewiseConstant (Optax piecewise_constant_schedule): base times the product of every scale whose
// boundary lies strictly before the step, value(t) = base * prod_{b_i < t} s_i. Note Optax's strict `<`:
// a scale at boundary 10 first applies at step 11 (MultiStepLR's milestones apply at the milestone).
#include <vector>

#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

class PiecewiseConstant final : public Schedule {
 public:
  PiecewiseConstant(std::vector<std::int64_t> boundaries, std::vector<double> scales);
  std::string name() const override { return "piecewise_constant"; }

 private:
  double compute(std::int64_t step, double base) const override;
  std::vector<std::int64_t> boundaries_;
  std::vector<double> scales_;
};

}  // namespace descent::schedule
