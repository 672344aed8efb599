#include "descent/transform/grad_scaler.hpp"
#include "descent/core/json_integer.hpp"

#include <cmath>

#include "descent/transform/grad_norm.hpp"

namespace descent::transform {

namespace {

void check_options(const GradScalerOptions& options) {
  DESCENT_CHECK(options.init_scale > 0.0 && std::isfinite(float(options.init_scale)),
                "GradScaler: init_scale = ", options.init_scale, "; expected a finite float32 number > 0");
  DESCENT_CHECK(options.growth_factor > 1.0 && std::isfinite(options.growth_factor),
                "GradScaler: growth_factor = ", options.growth_factor, "; expected a finite number > 1");
  DESCENT_CHECK(options.backoff_factor > 0.0 && options.backoff_factor < 1.0, "GradScaler: backoff_factor = ",
                options.backoff_factor, "; expected a number in (0, 1)");
  DESCENT_CHECK(options.growth_interval >= 1, "GradScaler: growth_interval = ", options.growth_interval,
                "; expected an integer >= 1");
}

}  // namespace

GradScaler::GradScaler(GradScalerOptions options) : options_(options) {
  check_options(options_);
  scale_ = float(options_.init_scale);
}

double GradScaler::inv_scale() const {
  return options_.enabled ? double(float(1.0 / double(scale_))) : 1.0;
}

bool GradScaler::unscale_(const std::vector<Tensor>& params) {
  if (!options_.enabled) return false;
  for (std::size_t i = 0; i < params.size(); ++i)
    DESCENT_CHECK(!params[i].defined() || !unscaled_.contains(params[i].impl()), "GradScaler::unscale_: parameter ",
                  i, " (shape ", params[i].shape(), ") was already unscaled since the last update(); expected one "
                  "unscale_ per optimizer per step");
  const GradientLayout layout = collect_gradients(params, "GradScaler::unscale_");
  const bool found = global_grad_norm(layout, kInfNorm, inv_scale()).found_nonfinite;
  scale_grads_(layout, inv_scale());
  for (const Tensor& param : params)
    if (param.grad().defined()) param.grad().mark_modified();
  for (const Tensor& param : params)
    if (param.defined()) unscaled_.insert(param.impl());
  record_inf_check(found);
  return found;
}

void GradScaler::record_inf_check(bool found_inf) {
  if (!options_.enabled) return;
  inf_checked_ = true;
  found_inf_ = found_inf_ || found_inf;
}

void GradScaler::update() {
  if (!options_.enabled) return;
  DESCENT_CHECK(inf_checked_, "GradScaler::update: no Inf/NaN check was recorded since the last update; "
                              "expected unscale_() or record_inf_check() (GradientPipeline::apply does it) first");
  if (found_inf_) {
    scale_ = float(double(scale_) * options_.backoff_factor);  // one rounding, as PyTorch's float * double
    growth_tracker_ = 0;
  } else if (growth_tracker_ + 1 == options_.growth_interval) {
    const float grown = float(double(scale_) * options_.growth_factor);
    if (std::isfinite(grown)) scale_ = grown;
    growth_tracker_ = 0;
  } else {
    ++growth_tracker_;
  }
  inf_checked_ = found_inf_ = false;
  unscaled_.clear();
}

void GradScaler::update(double new_scale) {
  if (!options_.enabled) return;
  DESCENT_CHECK(new_scale > 0.0 && std::isfinite(float(new_scale)), "GradScaler::update: new_scale = ",
                new_scale, "; expected a finite float32 number > 0");
  scale_ = float(new_scale);
  inf_checked_ = found_inf_ = false;
  unscaled_.clear();
}

nlohmann::json GradScaler::state_dict() const {
  if (!options_.enabled) return nlohmann::json::object();
  return {{"scale", double(scale_)},
          {"growth_factor", options_.growth_factor},
          {"backoff_factor", options_.backoff_factor},
          {"growth_interval", options_.growth_interval},
          {"_growth_tracker", growth_tracker_}};
}

void GradScaler::load_state_dict(const nlohmann::json& state) {
  if (!options_.enabled) return;
  DESCENT_CHECK(state.is_object() && !state.empty(), "GradScaler::load_state_dict: got ", state.dump(),
                "; expected an object with scale, growth_factor, backoff_factor, growth_interval, "
                "_growth_tracker (an empty one comes from a disabled scaler)");
  try {
    GradScalerOptions loaded = options_;
    loaded.init_scale = state.at("scale").get<double>();
    loaded.growth_factor = state.at("growth_factor").get<double>();
    loaded.backoff_factor = state.at("backoff_factor").get<double>();
    loaded.growth_interval = json_integer(state.at("growth_interval"), "growth_interval");
    const auto tracker = json_integer(state.at("_growth_tracker"), "_growth_tracker");
    check_options(loaded);
    DESCENT_CHECK(tracker >= 0 && tracker < loaded.growth_interval, "GradScaler::load_state_dict: "
                  "_growth_tracker = ", tracker, "; expected an integer in [0, growth_interval)");
    options_ = loaded;
    scale_ = float(loaded.init_scale);
    growth_tracker_ = tracker;
    inf_checked_ = found_inf_ = false;
    unscaled_.clear();
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("GradScaler::load_state_dict: ", e.what(), " in ", state.dump(),
                               "; expected numbers under scale, growth_factor, backoff_factor, "
                               "growth_interval, _growth_tracker"));
  }
}

}  // namespace descent::transform
