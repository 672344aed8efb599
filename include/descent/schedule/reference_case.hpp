#pragma once
// Checks one reference case of tests/data/vectors/schedule (format in that folder's README) against this
// library: expected_lr[i] is the value for step i (and expected_momentum[i] for cyclic schedules);
// reducelronplateau cases feed metrics[i] after step i and compare expected_lr_after_each_metric[i].
// Case names carry a variant suffix ("cycliclr_exp_range"); sequential_* and chained_* are SequentialLR
// and ChainedScheduler. It lives here, not in the vectors layer, so the schedule tests can run it.
#include <string>

#include <nlohmann/json.hpp>

namespace descent::schedule {

struct ReferenceCheck {
  bool passed = false;
  std::string detail;  // the first mismatch with both values, or a summary of what matched
};

// Malformed cases (missing fields, unknown schedule) throw descent::Error.
ReferenceCheck check_reference_case(const nlohmann::json& reference);

// The factory name a case's `schedule` field stands for.
std::string reference_schedule_name(const std::string& case_schedule);

}  // namespace descent::schedule
