#pragma once
// GradientPipeline: everything between backward and the optimizer step, in as few passes as possible.
//
// Per step, apply(params):
//   1. One reduction pass over the (loss-scaled) gradients computes the norm of the UNSCALED gradient
//      (each element times the scaler's inv_scale) and detects NaN/Inf in the same sweep.
//   2. Non-finite: the step is skipped (skip = true). With loss scaling this is the scaler's overflow
//      handling (always skip; the scale backs off). Without it, the guard's policy decides: skip and
//      count, or raise an Error naming the step and the tensor.
//   3. AGC, then clipping by value, when configured: these change gradients element by element, so they
//      run as an in-place pass that also unscales; if norm clipping follows, the norm is taken again.
//   4. Norm clipping: coef = min(1, max_norm / (norm + 1e-6)) as clip_grad_norm_, where max_norm is the
//      fixed `max_norm`, the percentile threshold (PercentileClip), or the smaller of the two.
//   5. grad_scale = (inv_scale unless step 3 already applied it) * coef. It is NOT applied here: the
//      caller hands it to the optimizer (Optimizer::scaled_step), whose fused update multiplies each
//      gradient by it, so rescaling costs no pass of its own.
//   6. The scaler's update() runs at the end of apply(): loss_scale() is then the scale for the next step.
// Without AGC/value clipping a step costs exactly one read pass over the gradients.
//
// Wiring in a training loop (with accumulation over k micro-batches; k = 1 without):
//   loss = loss * (pipeline.loss_scale() * accumulator.loss_weight());  backward(loss);
//   if (accumulator.micro_batch_done()) {
//     const StepDecision d = pipeline.apply(params);
//     if (!d.skip) optimizer.scaled_step(d.grad_scale);
//     optimizer.zero_grad();
//   }
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/core/tensor.hpp"
#include "descent/transform/agc.hpp"
#include "descent/transform/grad_scaler.hpp"
#include "descent/transform/gradient_runs.hpp"
#include "descent/transform/nonfinite_guard.hpp"
#include "descent/transform/percentile_clip.hpp"

namespace descent::transform {

struct GradientPipelineOptions {
  std::optional<GradScalerOptions> loss_scaling = std::nullopt;         // dynamic loss scaling; off when empty
  NonFinitePolicy nonfinite_policy = NonFinitePolicy::Skip;
  std::optional<double> max_norm = std::nullopt;                        // clip by global norm; >= 0
  double norm_type = 2.0;                                // 1, 2, inf or finite p > 0
  std::optional<PercentileClipOptions> percentile_clip = std::nullopt;  // adaptive max_norm
  std::optional<double> clip_value = std::nullopt;                      // clamp to [-v, v]; >= 0
  std::optional<AgcOptions> agc = std::nullopt;                         // adaptive gradient clipping
};

struct StepDecision {
  bool skip = false;             // do not step the optimizer (gradients held NaN/Inf)
  double grad_scale = 1.0;       // multiply every gradient by this in the step (1 when skip)
  double grad_norm = 0.0;        // norm_type norm of the unscaled gradient before any clipping
  bool found_nonfinite = false;
};

class GradientPipeline {
 public:
  explicit GradientPipeline(GradientPipelineOptions options = {});

  const GradientPipelineOptions& options() const { return options_; }
  // Multiply the loss by this before backward (1 without loss scaling).
  double loss_scale() const { return scaler_ ? scaler_->scale() : 1.0; }
  StepDecision apply(const std::vector<Tensor>& params);

  void set_parameter_names(std::vector<std::string> names) { guard_.set_parameter_names(std::move(names)); }
  const GradScaler* scaler() const { return scaler_ ? &*scaler_ : nullptr; }
  const NonFiniteGuard& guard() const { return guard_; }
  const PercentileClip* percentile_clip() const { return percentile_ ? &*percentile_ : nullptr; }
  std::int64_t steps() const { return steps_; }
  std::int64_t steps_skipped() const { return steps_skipped_; }

  nlohmann::json state_dict() const;
  void load_state_dict(const nlohmann::json& state);

 private:
  double clip_threshold(double norm);

  GradientPipelineOptions options_;
  std::optional<GradScaler> scaler_;
  NonFiniteGuard guard_;
  std::optional<PercentileClip> percentile_;
  GradientLayout layout_;  // reused every step
  std::int64_t steps_ = 0;
  std::int64_t steps_skipped_ = 0;
};

}  // namespace descent::transform
