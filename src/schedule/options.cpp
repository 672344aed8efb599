#include "options.hpp"

#include <algorithm>
#include <cmath>

#include "descent/core/error.hpp"

namespace descent::schedule::detail {

namespace {
const nlohmann::json& empty_object() {
  static const nlohmann::json empty = nlohmann::json::object();
  return empty;
}

bool is_integral(const nlohmann::json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  const double number = value.get<double>();
  return std::isfinite(number) && number == std::floor(number) && std::abs(number) < 9.0e15;
}
}  // namespace

OptionReader::OptionReader(std::string schedule, const nlohmann::json& options)
    : schedule_(std::move(schedule)), options_(options.is_null() ? empty_object() : options) {
  DESCENT_CHECK(options_.is_object(), schedule_, ": options = ", options.dump(),
                ": expected a JSON object of option names and values");
}

const nlohmann::json* OptionReader::find(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  const auto it = options_.find(key);
  return it == options_.end() || it->is_null() ? nullptr : &*it;
}

void OptionReader::fail(const std::string& key, const nlohmann::json& value, const std::string& expected) const {
  throw Error(descent::detail::concat(schedule_, ": option '", key, "' = ", value.dump(),
                                      " is invalid: expected ", expected));
}

std::optional<double> OptionReader::number(const std::string& key) {
  const auto* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_number()) fail(key, *value, "a number");
  return value->get<double>();
}

void OptionReader::missing(const std::string& key, const std::string& expected) {
  if (first_missing_.empty()) {
    first_missing_ = descent::detail::concat(schedule_, ": option '", key, "' is required: expected ", expected);
  }
}

double OptionReader::required_number(const std::string& key) {
  const auto value = number(key);
  if (!value) missing(key, "a number");
  return value.value_or(0.0);
}

std::optional<std::int64_t> OptionReader::integer(const std::string& key) {
  const auto* value = find(key);
  if (!value) return std::nullopt;
  if (!is_integral(*value)) fail(key, *value, "an integer");
  return value->is_number_integer() ? value->get<std::int64_t>() : static_cast<std::int64_t>(value->get<double>());
}

std::int64_t OptionReader::required_integer(const std::string& key) {
  const auto value = integer(key);
  if (!value) missing(key, "an integer");
  return value.value_or(0);
}

bool OptionReader::boolean(const std::string& key, bool fallback) {
  const auto* value = find(key);
  if (!value) return fallback;
  if (!value->is_boolean()) fail(key, *value, "true or false");
  return value->get<bool>();
}

std::optional<std::string> OptionReader::text(const std::string& key) {
  const auto* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_string()) fail(key, *value, "a string");
  return value->get<std::string>();
}

std::optional<std::vector<std::int64_t>> OptionReader::integers(const std::string& key) {
  const auto* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_array()) fail(key, *value, "a list of integers, e.g. [30, 80]");
  std::vector<std::int64_t> list;
  for (const auto& item : *value) {
    if (!is_integral(item)) fail(key, *value, "a list of integers, e.g. [30, 80]");
    list.push_back(item.is_number_integer() ? item.get<std::int64_t>() : static_cast<std::int64_t>(item.get<double>()));
  }
  return list;
}

std::optional<std::vector<double>> OptionReader::numbers(const std::string& key) {
  const auto* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_array()) fail(key, *value, "a list of numbers");
  std::vector<double> list;
  for (const auto& item : *value) {
    if (!item.is_number()) fail(key, *value, "a list of numbers");
    list.push_back(item.get<double>());
  }
  return list;
}

const nlohmann::json* OptionReader::raw(const std::string& key) { return find(key); }

std::optional<std::vector<std::int64_t>> OptionReader::required_integers(const std::string& key,
                                                                         const std::string& expected) {
  auto value = integers(key);
  if (!value) missing(key, expected);
  return value;
}

void OptionReader::finish() const {
  for (const auto& [key, value] : options_.items()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string valid;
    for (const auto& name : known_) valid += (valid.empty() ? "" : ", ") + name;
    throw Error(descent::detail::concat(schedule_, ": unknown option '", key, "'; valid options: ",
                                        valid.empty() ? "(none)" : valid));
  }
  if (!first_missing_.empty()) throw Error(first_missing_);
}

}  // namespace descent::schedule::detail
