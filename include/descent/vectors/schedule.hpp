#pragma once
// Runs one case of tests/data/vectors/schedule against descent's schedules.
#include <nlohmann/json.hpp>

#include "descent/vectors/case_result.hpp"

namespace descent::vectors {

// passed: every expected value (lr, momentum, or lr after each plateau metric) is within the case's
// rtol/atol. detail: the first mismatch with both values, or how many values matched. A malformed case
// (missing field, unknown schedule) is reported as a failure whose detail is the error message.
CaseResult run_schedule_case(const nlohmann::json& reference);

}  // namespace descent::vectors
