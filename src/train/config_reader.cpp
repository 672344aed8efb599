#include "config_reader.hpp"

#include <cmath>

#include "descent/core/error.hpp"

namespace descent::train::detail {

namespace {
const json& null_json() {
  static const json null;
  return null;
}
}  // namespace

std::string join(const std::vector<std::string>& words, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) out += (i ? separator : "") + words[i];
  return out;
}

TableReader::TableReader(const json& node, std::string path, json& resolved)
    : node_(node.is_null() ? null_json() : node), path_(std::move(path)), resolved_(resolved) {
  if (!node_.is_null() && !node_.is_object())
    throw Error("config: " + path_ + " = " + node_.dump() + ": expected a table");
  if (!resolved_.is_object()) resolved_ = json::object();
}

void TableReader::fail(const std::string& key, const std::string& expected) const {
  if (!has(key)) throw Error("config: " + key_path(key) + " is required: expected " + expected);
  throw Error("config: " + key_path(key) + " = " + clip_for_message(node_.at(key).dump()) + ": expected " + expected);
}

std::int64_t TableReader::integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  known_.push_back(key);
  read_.insert(key);
  std::int64_t value = fallback;
  if (has(key)) {
    const json& v = node_.at(key);
    if (!v.is_number_integer()) fail(key, "an integer");
    value = v.get<std::int64_t>();
    if (value < min || value > max)
      fail(key, "an integer in [" + std::to_string(min) + ", " + (max == INT64_MAX ? "inf" : std::to_string(max)) + "]");
  }
  resolved_[key] = value;
  return value;
}

double TableReader::number(const std::string& key, double fallback, double min, double max, bool min_open) {
  known_.push_back(key);
  read_.insert(key);
  double value = fallback;
  if (has(key)) {
    const json& v = node_.at(key);
    if (!v.is_number()) fail(key, "a number");
    value = v.get<double>();
    if (!std::isfinite(value) || value < min || value > max || (min_open && value == min)) {
      std::ostringstream range;
      range << "a number in " << (min_open ? "(" : "[") << min << ", " << max << "]";
      fail(key, range.str());
    }
  }
  resolved_[key] = value;
  return value;
}

bool TableReader::flag(const std::string& key, bool fallback) {
  known_.push_back(key);
  read_.insert(key);
  bool value = fallback;
  if (has(key)) {
    if (!node_.at(key).is_boolean()) fail(key, "true or false");
    value = node_.at(key).get<bool>();
  }
  resolved_[key] = value;
  return value;
}

std::string TableReader::text(const std::string& key, const std::string& fallback) {
  known_.push_back(key);
  read_.insert(key);
  std::string value = fallback;
  if (has(key)) {
    if (!node_.at(key).is_string()) fail(key, "a string");
    value = node_.at(key).get<std::string>();
  }
  resolved_[key] = value;
  return value;
}

std::string TableReader::choice(const std::string& key, const std::string& fallback,
                                const std::vector<std::string>& accepted) {
  const std::string value = text(key, fallback);
  if (std::find(accepted.begin(), accepted.end(), value) == accepted.end()) {
    const std::string suggestion = closest_match(value, accepted);
    fail(key, "one of " + join(accepted) + (suggestion.empty() ? "" : " (did you mean " + suggestion + "?)"));
  }
  return value;
}

std::vector<std::int64_t> TableReader::integers(const std::string& key, const std::vector<std::int64_t>& fallback,
                                                std::int64_t min, std::int64_t max) {
  known_.push_back(key);
  read_.insert(key);
  std::vector<std::int64_t> value = fallback;
  const std::string expected = "an array of integers in [" + std::to_string(min) + ", " +
                               (max == INT64_MAX ? std::string("inf") : std::to_string(max)) + "]";
  if (has(key)) {
    const json& v = node_.at(key);
    if (!v.is_array()) fail(key, expected);
    value.clear();
    for (const json& element : v) {
      if (!element.is_number_integer() || element.get<std::int64_t>() < min || element.get<std::int64_t>() > max)
        fail(key, expected);
      value.push_back(element.get<std::int64_t>());
    }
  }
  resolved_[key] = value;
  return value;
}

std::vector<std::string> TableReader::strings(const std::string& key, const std::vector<std::string>& fallback) {
  known_.push_back(key);
  read_.insert(key);
  std::vector<std::string> value = fallback;
  if (has(key)) {
    const json& v = node_.at(key);
    if (!v.is_array()) fail(key, "an array of strings");
    value.clear();
    for (const json& element : v) {
      if (!element.is_string()) fail(key, "an array of strings");
      value.push_back(element.get<std::string>());
    }
  }
  resolved_[key] = value;
  return value;
}

std::string TableReader::name_or_index(const std::string& key, const std::string& fallback) {
  known_.push_back(key);
  read_.insert(key);
  std::string value = fallback;
  if (has(key)) {
    const json& v = node_.at(key);
    if (v.is_string()) value = v.get<std::string>();
    else if (v.is_number_integer()) value = std::to_string(v.get<std::int64_t>());
    else fail(key, "a column name or an integer index");
  }
  resolved_[key] = value;
  return value;
}

TableReader TableReader::table(const std::string& key) {
  known_.push_back(key);
  read_.insert(key);
  return TableReader(has(key) ? node_.at(key) : null_json(), key_path(key), resolved_[key]);
}

json TableReader::any(const std::string& key) {
  known_.push_back(key);
  read_.insert(key);
  if (!has(key)) return nullptr;
  resolved_[key] = node_.at(key);
  return node_.at(key);
}

std::vector<std::string> TableReader::unread_keys() const {
  std::vector<std::string> out;
  if (node_.is_object())
    for (const auto& [key, value] : node_.items())
      if (!read_.contains(key)) out.push_back(key);
  return out;
}

void TableReader::finish() const {
  const auto unread = unread_keys();
  if (unread.empty()) return;
  const std::string suggestion = closest_match(unread.front(), known_);
  std::vector<std::string> sorted = known_;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  throw Error("config: unknown key " + key_path(unread.front()) +
              (suggestion.empty() ? "" : " (did you mean " + key_path(suggestion) + "?)") + "; keys of " +
              (path_.empty() ? std::string("the top level") : "[" + path_ + "]") + ": " + join(sorted));
}

}  // namespace descent::train::detail
