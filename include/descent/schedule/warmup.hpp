#pragma once
// Warm-up schedules that PyTorch does not ship, following Optax's formulas with PyTorch-style options.
// All are factors of the base value; W = warmup_steps, the warm-up rises linearly from start_factor to 1:
//   warmup_cosine (Optax warmup_cosine_decay_schedule; total_steps is Optax's decay_steps and includes
//     the warm-up): then, with D = total_steps - W and c = (1 + cos(pi * min(t - W, D) / D)) / 2,
//     factor = (1 - end_factor) * c^exponent + end_factor.
//   warmup_linear (join of two Optax linear_schedules): then linear from 1 to end_factor over
//     total_steps - W steps, held after.
//   inverse_sqrt (the Transformer / fairseq rule, warm-up from 0 as in Hugging Face's
//     get_inverse_sqrt_schedule): t / W during warm-up, then 1 / sqrt((t + timescale - W) / timescale);
//     timescale defaults to W (or 10000 when W = 0).
//   warmup_stable_decay (WSD; Hu et al., "MiniCPM", 2024): warm-up, stable_steps at 1, then decay_steps
//     from 1 to end_factor shaped by decay_type (linear: 1 - p, cosine: (1 + cos(pi p)) / 2, 1-sqrt:
//     1 - sqrt(p)), held at end_factor after.
#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

// The linear warm-up factor shared by these schedules, for t < warmup_steps.
double warmup_factor(std::int64_t step, std::int64_t warmup_steps, double start_factor);

class WarmupCosine final : public Schedule {
 public:
  WarmupCosine(std::int64_t warmup_steps, std::int64_t total_steps, double start_factor = 0.0,
               double end_factor = 0.0, double exponent = 1.0);
  std::string name() const override { return "warmup_cosine"; }
  bool multiplies_in_chain() const override { return true; }

 private:
  double compute(std::int64_t step, double base) const override;
  std::int64_t warmup_steps_, total_steps_;
  double start_factor_, end_factor_, exponent_;
};

class WarmupLinear final : public Schedule {
 public:
  WarmupLinear(std::int64_t warmup_steps, std::int64_t total_steps, double start_factor = 0.0,
               double end_factor = 0.0);
  std::string name() const override { return "warmup_linear"; }
  bool multiplies_in_chain() const override { return true; }

 private:
  double compute(std::int64_t step, double base) const override;
  std::int64_t warmup_steps_, total_steps_;
  double start_factor_, end_factor_;
};

class InverseSqrt final : public Schedule {
 public:
  explicit InverseSqrt(std::int64_t warmup_steps, std::int64_t timescale = 0);  // 0: the default above
  std::string name() const override { return "inverse_sqrt"; }
  bool multiplies_in_chain() const override { return true; }

 private:
  double compute(std::int64_t step, double base) const override;
  std::int64_t warmup_steps_, timescale_;
};

struct WarmupStableDecayOptions {
  std::int64_t warmup_steps = 0;
  std::int64_t stable_steps = 0;
  std::int64_t decay_steps = 0;       // required, >= 1
  double start_factor = 0.0;
  double end_factor = 0.0;
  std::string decay_type = "linear";  // linear | cosine | 1-sqrt
};

class WarmupStableDecay final : public Schedule {
 public:
  explicit WarmupStableDecay(WarmupStableDecayOptions options);
  std::string name() const override { return "warmup_stable_decay"; }
  bool multiplies_in_chain() const override { return true; }

 private:
  double compute(std::int64_t step, double base) const override;
  WarmupStableDecayOptions options_;
};

}  // namespace descent::schedule
