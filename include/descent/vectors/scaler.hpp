#pragma once
// Runs one loss-scaling reference case from tests/data/vectors/scaler (format in its README) against
// transform::GradScaler: the scaler is built from `scaler` (init_scale, growth_factor, backoff_factor,
// growth_interval); each step sets the (scaled) gradients `grads`, calls unscale_ once per parameter list
// in `unscale` (lists of tensor indices, as several optimizers sharing one scaler would), then update().
// After each step the unscaled gradients must equal `expected_grads`, the Inf/NaN finding
// `expected_found_inf`, and the scale `expected_scale` (exactly: the scale is a float32 value).
#include <nlohmann/json.hpp>

#include "descent/vectors/case_result.hpp"

namespace descent::vectors {

CaseResult run_scaler_case(const nlohmann::json& spec);

}  // namespace descent::vectors
