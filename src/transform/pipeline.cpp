#include "descent/transform/pipeline.hpp"
#include "descent/core/json_integer.hpp"

#include <algorithm>
#include <cmath>

#include "descent/transform/clip.hpp"
#include "descent/transform/grad_norm.hpp"

namespace descent::transform {

GradientPipeline::GradientPipeline(GradientPipelineOptions options)
    : options_(options), guard_(options.nonfinite_policy) {
  DESCENT_CHECK(options_.norm_type > 0.0 && !std::isnan(options_.norm_type), "GradientPipeline: norm_type = ",
                options_.norm_type, "; expected a p > 0 (1, 2, ...) or inf (the fused pass takes no other order)");
  if (options_.max_norm) check_max_norm(*options_.max_norm, "GradientPipeline");
  if (options_.clip_value)
    DESCENT_CHECK(*options_.clip_value >= 0.0, "GradientPipeline: clip_value = ", *options_.clip_value,
                  "; expected a number >= 0");
  if (options_.agc) check_agc_options(*options_.agc, "GradientPipeline");
  if (options_.loss_scaling) scaler_.emplace(*options_.loss_scaling);
  if (options_.percentile_clip) percentile_.emplace(*options_.percentile_clip);
}

double GradientPipeline::clip_threshold(double norm) {
  double threshold = options_.max_norm.value_or(kInfNorm);
  if (percentile_) threshold = std::min(threshold, percentile_->record(norm));
  return threshold;
}

StepDecision GradientPipeline::apply(const std::vector<Tensor>& params) {
  ++steps_;
  collect_gradients(params, "GradientPipeline::apply", layout_);
  const bool scaling = scaler_ && scaler_->enabled();
  double multiplier = scaling ? scaler_->inv_scale() : 1.0;

  const GradNormResult first = global_grad_norm(layout_, options_.norm_type, multiplier);
  StepDecision decision;
  decision.grad_norm = first.norm;
  decision.found_nonfinite = first.found_nonfinite;

  bool proceed = !first.found_nonfinite;
  if (scaling) {
    scaler_->record_inf_check(first.found_nonfinite);
    scaler_->update();
  } else {
    proceed = guard_.record(first.found_nonfinite, params, multiplier);
  }
  if (!proceed) {
    ++steps_skipped_;
    decision.skip = true;
    return decision;
  }

  double norm = first.norm;
  if (options_.agc || options_.clip_value) {
    if (options_.agc) {
      adaptive_grad_clip_(params, *options_.agc, multiplier);
      multiplier = 1.0;
    }
    if (options_.clip_value) {
      scale_and_clamp_grads_(layout_, multiplier, *options_.clip_value);
      multiplier = 1.0;
    }
    if (options_.max_norm || percentile_) norm = global_grad_norm(layout_, options_.norm_type).norm;
  }
  const double coef = options_.max_norm || percentile_ ? clip_coefficient(clip_threshold(norm), norm) : 1.0;
  decision.grad_scale = multiplier * coef;
  return decision;
}

nlohmann::json GradientPipeline::state_dict() const {
  nlohmann::json state = {{"steps", steps_}, {"steps_skipped", steps_skipped_}, {"guard", guard_.state_dict()}};
  if (scaler_) state["scaler"] = scaler_->state_dict();
  if (percentile_) state["percentile_clip"] = percentile_->state_dict();
  return state;
}

void GradientPipeline::load_state_dict(const nlohmann::json& state) {
  DESCENT_CHECK(state.is_object() && state.contains("steps") && state.contains("steps_skipped") &&
                    state.contains("guard"),
                "GradientPipeline::load_state_dict: got ", state.dump(),
                "; expected an object with steps, steps_skipped and guard");
  DESCENT_CHECK(!scaler_ || state.contains("scaler"), "GradientPipeline::load_state_dict: no 'scaler' entry; "
                "expected one since this pipeline uses loss scaling");
  DESCENT_CHECK(!percentile_ || state.contains("percentile_clip"), "GradientPipeline::load_state_dict: no "
                "'percentile_clip' entry; expected one since this pipeline clips at a percentile");
  std::int64_t steps = 0, skipped = 0;
  try {
    steps = json_integer(state["steps"], "steps");
    skipped = json_integer(state["steps_skipped"], "steps_skipped");
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("GradientPipeline::load_state_dict: ", e.what(),
                               "; expected integers under steps and steps_skipped"));
  }
  DESCENT_CHECK(steps >= 0 && skipped >= 0 && skipped <= steps, "GradientPipeline::load_state_dict: steps = ",
                steps, ", steps_skipped = ", skipped, "; expected 0 <= steps_skipped <= steps");
  guard_.load_state_dict(state["guard"]);
  if (scaler_) scaler_->load_state_dict(state["scaler"]);
  if (percentile_) percentile_->load_state_dict(state["percentile_clip"]);
  steps_ = steps;
  steps_skipped_ = skipped;
}

}  // namespace descent::transform
