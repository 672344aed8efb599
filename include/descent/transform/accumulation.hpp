#pragma once
// Gradient accumulation over k micro-batches.
//
// For a mean loss, the gradient of the mean over a batch of k*b examples is the mean of the k micro-batch
// gradients (each a mean over b). Gradients accumulate by summation in .grad, so each micro-batch's loss
// is multiplied by loss_weight() = 1/k before backward; after the k-th, micro_batch_done() says "step"
// and the summed gradient equals the large batch's. This needs equal micro-batch sizes; a trailing group
// of j < k micro-batches (end of data) carries weight j/k, which partial_group_correction() = k/j undoes
// (hand it to the optimizer as a gradient scale rather than rescaling the gradients).
#include <cstdint>

#include <nlohmann/json.hpp>

namespace descent::transform {

class GradientAccumulator {
 public:
  explicit GradientAccumulator(std::int64_t steps);

  std::int64_t steps() const { return steps_; }
  // Multiply each micro-batch's mean loss by this before backward.
  double loss_weight() const { return 1.0 / double(steps_); }
  // Call after each micro-batch's backward. True when it completes a group of steps(): step the
  // optimizer, then zero the gradients.
  bool micro_batch_done();
  // Micro-batches accumulated since the last completed group.
  std::int64_t pending() const { return pending_; }
  // k / pending(): the factor that turns a trailing partial group into its mean. Throws if none pending.
  double partial_group_correction() const;
  // Ends a trailing partial group (the caller steps with partial_group_correction()); returns whether
  // there was one.
  bool flush();

  nlohmann::json state_dict() const;
  void load_state_dict(const nlohmann::json& state);

 private:
  std::int64_t steps_;
  std::int64_t pending_ = 0;
};

}  // namespace descent::transform
