#pragma once
// Reading option tables of the tune config ([tune.pruner], [tune.pbt], ...): unknown keys and values of
// the wrong type or range are errors naming the table, the key, the value and the accepted form.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descent/core/error.hpp"

namespace descent::tune::detail {

inline std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

// Throws unless every key of `table` is one of `known`.
inline void check_keys(const nlohmann::json& table, const std::string& where, const std::vector<std::string>& known) {
  DESCENT_CHECK(table.is_null() || table.is_object(), where, ": expected a table, got ", table.dump());
  if (table.is_null()) return;
  for (const auto& [key, value] : table.items()) {
    bool ok = false;
    for (const auto& k : known) ok = ok || k == key;
    DESCENT_CHECK(ok, where, ": unknown key ", key, "; valid keys: ", join(known));
  }
}

inline std::int64_t read_int(const nlohmann::json& table, const std::string& where, const std::string& key,
                             std::int64_t fallback, std::int64_t low,
                             std::int64_t high = std::numeric_limits<std::int64_t>::max()) {
  if (!table.is_object() || !table.contains(key)) return fallback;
  const auto& v = table.at(key);
  DESCENT_CHECK(v.is_number_integer(), where, ".", key, " = ", v.dump(), ": expected an integer in [", low, ", ",
                high == std::numeric_limits<std::int64_t>::max() ? std::string("inf") : std::to_string(high), "]");
  const auto n = v.get<std::int64_t>();
  DESCENT_CHECK(n >= low && n <= high, where, ".", key, " = ", n, ": expected an integer in [", low, ", ",
                high == std::numeric_limits<std::int64_t>::max() ? std::string("inf") : std::to_string(high), "]");
  return n;
}

inline double read_number(const nlohmann::json& table, const std::string& where, const std::string& key, double fallback,
                          double low, double high) {
  if (!table.is_object() || !table.contains(key)) return fallback;
  const auto& v = table.at(key);
  DESCENT_CHECK(v.is_number(), where, ".", key, " = ", v.dump(), ": expected a number in [", low, ", ", high, "]");
  const double x = v.get<double>();
  DESCENT_CHECK(x >= low && x <= high, where, ".", key, " = ", x, ": expected a number in [", low, ", ", high, "]");
  return x;
}

inline std::string read_string(const nlohmann::json& table, const std::string& where, const std::string& key,
                               const std::string& fallback) {
  if (!table.is_object() || !table.contains(key)) return fallback;
  const auto& v = table.at(key);
  DESCENT_CHECK(v.is_string(), where, ".", key, " = ", v.dump(), ": expected a string");
  return v.get<std::string>();
}

}  // namespace descent::tune::detail
