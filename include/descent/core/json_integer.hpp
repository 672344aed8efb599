#pragma once
// Integers read from saved state (checkpoints, trainer metadata). nlohmann's get<std::int64_t>() converts
// a JSON float with a C++ cast, which is undefined behaviour once the value is out of range (a damaged or
// crafted file: {"step": 1e300}); this reader accepts only JSON integers and says what it got otherwise.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "descent/core/error.hpp"

namespace descent {

inline std::int64_t json_integer(const nlohmann::json& value, const std::string& what = "a saved count") {
  DESCENT_CHECK(value.is_number_integer(), what, " = ", clip_for_message(value.dump()), ": expected an integer");
  return value.get<std::int64_t>();
}

}  // namespace descent
