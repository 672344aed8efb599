#pragma once
// Runs one gradient-clipping reference case from tests/data/vectors/clip (format in its README):
//   clip "norm": clip_grad_norm_(grads, max_norm, norm_type) must return expected_total_norm and leave
//                `expected`; norm_type is a number (0 and negative ones too), "inf" or "-inf".
//   clip "value": clip_grad_value_(grads, clip_value) must leave `expected`.
// Gradients are float32 (as the cases were produced), compared with the case's rtol/atol:
// |got - want| <= atol + rtol * |want|.
#include <nlohmann/json.hpp>

#include "descent/vectors/case_result.hpp"

namespace descent::vectors {

// Throws descent::Error for a malformed case (missing field, wrong sizes); returns a failed CaseResult
// naming the first mismatch otherwise.
CaseResult run_clip_case(const nlohmann::json& spec);

}  // namespace descent::vectors
