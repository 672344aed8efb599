#pragma once
// Dynamic loss scaling with the semantics of torch.amp.GradScaler.
//
// The loss is multiplied by scale() before backward, so small gradients survive low precision. Before
// the step the gradients are unscaled (multiplied by inv_scale()) and checked for Inf/NaN; a step whose
// gradients overflowed is skipped. update() then adapts the scale:
//   found Inf/NaN:  scale *= backoff_factor, growth_tracker = 0
//   otherwise:      ++growth_tracker; when it reaches growth_interval: scale *= growth_factor (kept only
//                   if finite) and growth_tracker = 0
// The scale is held in float32 as PyTorch holds it, and inv_scale() is float32(1 / double(scale)); each
// update multiplies it by the double factor and rounds once to float32, as PyTorch's kernel does.
// Deliberate difference (docs/SEMANTICS.md): Inf/NaN is looked for in the gradients *after* unscaling, where
// PyTorch tests the scaled values. They differ only when the scale is below 1 and a finite gradient
// overflows float32 once unscaled: PyTorch then steps with infinite gradients, descent skips the step and
// backs off, which is the safe outcome.
// unscale_() divides the gradients in place (PyTorch's unscale_); GradientPipeline instead folds
// inv_scale() into the factor it hands to the optimizer and reports the check via record_inf_check().
#include <cstdint>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/core/tensor.hpp"

namespace descent::transform {

struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;   // > 1
  double backoff_factor = 0.5;  // in (0, 1)
  std::int64_t growth_interval = 2000;  // >= 1
  bool enabled = true;          // disabled: scale 1, unscale_ and update do nothing
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  bool enabled() const { return options_.enabled; }
  const GradScalerOptions& options() const { return options_; }
  // The factor to multiply the loss by before backward (1 when disabled).
  double scale() const { return options_.enabled ? double(scale_) : 1.0; }
  double inv_scale() const;
  std::int64_t growth_tracker() const { return growth_tracker_; }

  // Multiplies every gradient by inv_scale() in place and records whether any became Inf/NaN (returned).
  // Each parameter may be unscaled once between updates (PyTorch allows one unscale_ per optimizer, so
  // several optimizers share one scaler): a parameter unscaled twice is an Error.
  bool unscale_(const std::vector<Tensor>& params);
  // Records the outcome of an Inf/NaN check of this step's unscaled gradients made elsewhere (the fused
  // path). Several records before update() combine with "or".
  void record_inf_check(bool found_inf);
  bool inf_checked() const { return inf_checked_; }
  bool found_inf() const { return found_inf_; }

  // Adapts the scale from this step's check (throws when no check was recorded since the last update).
  void update();
  // Sets the scale to `new_scale` (> 0) instead; the growth tracker is kept, as in PyTorch.
  void update(double new_scale);

  // PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval, _growth_tracker. A disabled
  // scaler saves {} and ignores what it is given.
  nlohmann::json state_dict() const;
  void load_state_dict(const nlohmann::json& state);

 private:
  GradScalerOptions options_;
  float scale_ = 65536.0f;
  std::int64_t growth_tracker_ = 0;
  bool inf_checked_ = false;
  bool found_inf_ = false;
  std::set<const TensorImpl*> unscaled_;  // parameters unscaled since the last update
};

}  // namespace descent::transform
