#include "options.hpp"

#include <cmath>

#include "descent/core/error.hpp"

namespace descent::search::detail {

OptionReader::OptionReader(std::string sampler, const nlohmann::json& options)
    : sampler_(std::move(sampler)), options_(options.is_null() ? nlohmann::json::object() : options) {
  DESCENT_CHECK(options_.is_object(), "sampler \"", sampler_, "\" options: got ", options_.dump(),
                ", expected an object");
}

const nlohmann::json* OptionReader::find(const std::string& key) {
  known_.insert(key);
  return options_.contains(key) ? &options_.at(key) : nullptr;
}

std::int64_t OptionReader::integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) {
  const nlohmann::json* value = find(key);
  if (!value) return fallback;
  const bool integral = value->is_number_integer() ||
                        (value->is_number_float() && value->get<double>() == std::round(value->get<double>()));
  DESCENT_CHECK(integral && value->get<double>() >= double(min) && value->get<double>() <= double(max),
                "sampler \"", sampler_, "\" option \"", key, "\": got ", value->dump(), ", expected an integer in [",
                min, ", ", max, "]");
  return std::int64_t(value->get<double>());
}

double OptionReader::number(const std::string& key, double fallback, double min, double max) {
  const nlohmann::json* value = find(key);
  if (!value) return fallback;
  DESCENT_CHECK(value->is_number() && std::isfinite(value->get<double>()) && value->get<double>() >= min &&
                    value->get<double>() <= max,
                "sampler \"", sampler_, "\" option \"", key, "\": got ", value->dump(), ", expected a number in [",
                min, ", ", max, "]");
  return value->get<double>();
}

bool OptionReader::boolean(const std::string& key, bool fallback) {
  const nlohmann::json* value = find(key);
  if (!value) return fallback;
  DESCENT_CHECK(value->is_boolean(), "sampler \"", sampler_, "\" option \"", key, "\": got ", value->dump(),
                ", expected true or false");
  return value->get<bool>();
}

void OptionReader::finish() const {
  for (const auto& [key, value] : options_.items()) {
    if (known_.count(key)) continue;
    std::string list;
    for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
    throw Error("sampler \"" + sampler_ + "\": unknown option \"" + key + "\", expected one of " +
                (list.empty() ? std::string("(none)") : list));
  }
}

}  // namespace descent::search::detail
