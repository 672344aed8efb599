#include "descent/vectors/schedule.hpp"

#include "descent/core/error.hpp"
#include "descent/schedule/reference_case.hpp"

namespace descent::vectors {

CaseResult run_schedule_case(const nlohmann::json& reference) {
  try {
    auto check = schedule::check_reference_case(reference);
    return {check.passed, std::move(check.detail)};
  } catch (const std::exception& error) {  // descent::Error, or a JSON type error in the case
    return {false, error.what()};
  }
}

}  // namespace descent::vectors
