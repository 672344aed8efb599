#pragma once
// Cosine annealing (Loshchilov & Hutter, "SGDR", 2017), PyTorch 2.11 semantics.
//
// CosineAnnealingLR:  eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2, for every t.
//   PyTorch steps it recursively, lr_t = eta_min + (lr_{t-1} - eta_min) * k(t) / k(t-1) with
//   k(t) = 1 + cos(pi t / T_max), plus an additive step at t = T_max + 1 (mod 2 T_max) where k(t-1) = 0.
//   In exact arithmetic the recursion equals this closed form for all t, including after T_max where the
//   rate climbs back towards base (period 2 T_max); we use the closed form so the value at step t does not
//   depend on the path, and it agrees with PyTorch's recursion to rounding (the reference vectors run 120
//   steps, past T_max, at rtol 1e-6). Inside ChainedScheduler the recursion itself is used (chained()),
//   since there it mixes with the other parts' steps (with eta_min != 0, or past T_max).
// CosineAnnealingWarmRestarts: the same curve restarted every T_i steps, T_0 first and each period
//   T_mult times longer than the last (PyTorch's step() without an epoch argument).
#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

class CosineAnnealingLR final : public Schedule {
 public:
  explicit CosineAnnealingLR(std::int64_t T_max, double eta_min = 0.0);
  std::string name() const override { return "cosineannealinglr"; }
  double chained(std::int64_t step, double current, double base) const override;

 private:
  double compute(std::int64_t step, double base) const override;
  std::int64_t T_max_;
  double eta_min_;
};

class CosineAnnealingWarmRestarts final : public Schedule {
 public:
  explicit CosineAnnealingWarmRestarts(std::int64_t T_0, std::int64_t T_mult = 1, double eta_min = 0.0);
  std::string name() const override { return "cosineannealingwarmrestarts"; }

 private:
  double compute(std::int64_t step, double base) const override;
  std::int64_t T_0_;
  std::int64_t T_mult_;
  double eta_min_;
};

}  // namespace descent::schedule
