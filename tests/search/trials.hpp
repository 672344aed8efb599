#pragma once
// Trial records for the sampler tests.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "descent/search/trial.hpp"

namespace descent::search {

// A complete trial with the given parameters and objective value.
inline TrialRecord complete(std::int64_t number, nlohmann::json params, double value) {
  TrialRecord t;
  t.number = number;
  t.params = std::move(params);
  t.state = TrialState::complete;
  t.value = value;
  return t;
}

}  // namespace descent::search
