#pragma once
// The non-finite guard: a step whose gradients hold NaN or Inf is never applied. By policy it is
// skipped and counted, or it stops training with an Error naming the step, the tensor and the element.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/core/tensor.hpp"

namespace descent::transform {

enum class NonFinitePolicy { Skip, Raise };

// "skip" or "raise"; throws naming the value otherwise.
NonFinitePolicy parse_nonfinite_policy(const std::string& name);
const char* nonfinite_policy_name(NonFinitePolicy policy);

// Where the first non-finite gradient element is (after multiplying by grad_multiplier).
struct NonFiniteLocation {
  bool found = false;
  std::size_t param_index = 0;
  std::int64_t element = 0;  // row-major index inside that gradient
  double value = 0.0;
};
NonFiniteLocation find_nonfinite_grad(const std::vector<Tensor>& params, double grad_multiplier = 1.0);

class NonFiniteGuard {
 public:
  explicit NonFiniteGuard(NonFinitePolicy policy = NonFinitePolicy::Skip) : policy_(policy) {}

  NonFinitePolicy policy() const { return policy_; }
  // Optional names for messages, one per parameter ("parameter <i>" is used otherwise).
  void set_parameter_names(std::vector<std::string> names) { names_ = std::move(names); }

  // Checks this step's gradients (one reduction pass); true when the step may proceed.
  bool check(const std::vector<Tensor>& params, double grad_multiplier = 1.0);
  // Records a check made elsewhere (GradientPipeline's fused pass). When `found_nonfinite`, Skip counts
  // the step and returns false; Raise locates the culprit in `params` and throws.
  bool record(bool found_nonfinite, const std::vector<Tensor>& params, double grad_multiplier = 1.0);

  std::int64_t steps_checked() const { return steps_checked_; }
  std::int64_t steps_skipped() const { return steps_skipped_; }

  nlohmann::json state_dict() const;
  void load_state_dict(const nlohmann::json& state);

 private:
  NonFinitePolicy policy_;
  std::vector<std::string> names_;
  std::int64_t steps_checked_ = 0;
  std::int64_t steps_skipped_ = 0;
};

}  // namespace descent::transform
