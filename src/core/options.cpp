#include "descent/core/options.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include "descent/core/error.hpp"

namespace descent {

using nlohmann::json;

std::string join(const std::vector<std::string>& words, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) out += separator;
    out += words[i];
  }
  return out;
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t above = row[j];
        const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                          std::tolower(static_cast<unsigned char>(b[j - 1]));
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
        diagonal = above;
      }
    }
    return row[b.size()];
  };
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    const std::size_t d = distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

namespace {

// An integer, or a float with an integral value that an int64 holds exactly.
std::optional<std::int64_t> as_integer(const json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (!value.is_number_float()) return std::nullopt;
  const double x = value.get<double>();
  if (!std::isfinite(x) || x != std::floor(x) || std::abs(x) >= 9.0e15) return std::nullopt;
  return static_cast<std::int64_t>(x);
}

std::string bound(std::int64_t value) {
  if (value == OptionTable::kNoMax) return "inf";
  if (value == OptionTable::kNoMin) return "-inf";
  return std::to_string(value);
}

std::string integer_form(std::int64_t min, std::int64_t max, const std::string& noun = "an integer") {
  if (min == OptionTable::kNoMin && max == OptionTable::kNoMax) return noun;
  return noun + " in [" + bound(min) + ", " + bound(max) + "]";
}

}  // namespace

OptionTable::OptionTable(const json& node, std::string context, std::string path, json* resolved)
    : node_(node.is_null() ? json::object() : node),
      context_(std::move(context)),
      path_(std::move(path)),
      resolved_(resolved) {
  if (!node_.is_object()) {
    throw Error(context_ + ": " + (path_.empty() ? std::string("options") : path_) + " = " +
                clip_for_message(node.dump()) + ": expected a table of options");
  }
  if (resolved_ && !resolved_->is_object()) *resolved_ = json::object();
}

json& OptionTable::resolved() {
  DESCENT_CHECK(resolved_ != nullptr, context_, ": this option reader keeps no resolved table");
  return *resolved_;
}

bool OptionTable::has(const std::string& key) const {
  const auto it = node_.find(key);
  return it != node_.end() && !it->is_null();
}

const json* OptionTable::find(const std::string& key) {
  accept(key);
  return has(key) ? &node_.at(key) : nullptr;
}

void OptionTable::accept(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  read_.insert(key);
}

void OptionTable::record(const std::string& key, json value) {
  if (resolved_) (*resolved_)[key] = std::move(value);
}

void OptionTable::fail(const std::string& key, const std::string& expected) const {
  if (!has(key)) throw Error(context_ + ": " + key_path(key) + " is required: expected " + expected);
  throw Error(context_ + ": " + key_path(key) + " = " + clip_for_message(node_.at(key).dump()) + ": expected " +
              expected);
}

void OptionTable::missing(const std::string& key, const std::string& expected) {
  if (first_missing_.empty()) first_missing_ = context_ + ": " + key_path(key) + " is required: expected " + expected;
}

std::optional<std::int64_t> OptionTable::integer(const std::string& key) { return checked_integer(key, kNoMin, kNoMax); }

std::optional<std::int64_t> OptionTable::checked_integer(const std::string& key, std::int64_t min, std::int64_t max) {
  const json* value = find(key);
  if (!value) return std::nullopt;
  const auto n = as_integer(*value);
  if (!n || *n < min || *n > max) fail(key, integer_form(min, max));
  record(key, *n);
  return n;
}

std::int64_t OptionTable::integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const auto n = checked_integer(key, min, max);
  if (!n) record(key, fallback);
  return n.value_or(fallback);
}

std::int64_t OptionTable::required_integer(const std::string& key, std::int64_t min, std::int64_t max) {
  const auto n = checked_integer(key, min, max);
  if (!n) missing(key, integer_form(min, max));
  return n.value_or(std::max<std::int64_t>(min, 0));
}

std::optional<double> OptionTable::number(const std::string& key) {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_number()) fail(key, "a number");
  record(key, *value);
  return value->get<double>();
}

double OptionTable::number(const std::string& key, double fallback, double min, double max, bool min_open) {
  const json* value = find(key);
  if (!value) {
    record(key, fallback);
    return fallback;
  }
  const double x = value->is_number() ? value->get<double>() : std::nan("");
  if (!std::isfinite(x) || x < min || x > max || (min_open && x == min)) {
    std::ostringstream form;
    if (min == -kInf && max == kInf) form << "a finite number";
    else form << "a number in " << (min_open ? "(" : "[") << min << ", " << max << "]";
    fail(key, form.str());
  }
  record(key, x);
  return x;
}

double OptionTable::required_number(const std::string& key) {
  const auto x = number(key);
  if (!x) missing(key, "a number");
  return x.value_or(0.0);
}

bool OptionTable::flag(const std::string& key, bool fallback) {
  const json* value = find(key);
  if (value && !value->is_boolean()) fail(key, "true or false");
  const bool b = value ? value->get<bool>() : fallback;
  record(key, b);
  return b;
}

std::optional<std::string> OptionTable::text(const std::string& key) {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_string()) fail(key, "a string");
  record(key, *value);
  return value->get<std::string>();
}

std::string OptionTable::text(const std::string& key, const std::string& fallback) {
  const auto s = text(key);
  if (!s) record(key, fallback);
  return s.value_or(fallback);
}

std::string OptionTable::choice(const std::string& key, const std::string& fallback,
                                const std::vector<std::string>& accepted) {
  const std::string value = text(key, fallback);
  if (std::find(accepted.begin(), accepted.end(), value) == accepted.end()) {
    const std::string suggestion = closest_match(value, accepted);
    fail(key, "one of " + join(accepted) + (suggestion.empty() ? "" : " (did you mean " + suggestion + "?)"));
  }
  return value;
}

std::optional<std::vector<std::int64_t>> OptionTable::integers(const std::string& key) {
  return checked_integers(key, kNoMin, kNoMax);
}

std::optional<std::vector<std::int64_t>> OptionTable::checked_integers(const std::string& key, std::int64_t min,
                                                                       std::int64_t max) {
  const json* value = find(key);
  if (!value) return std::nullopt;
  const std::string form = integer_form(min, max, "an array of integers");
  if (!value->is_array()) fail(key, form);
  std::vector<std::int64_t> list;
  for (const json& element : *value) {
    const auto n = as_integer(element);
    if (!n || *n < min || *n > max) fail(key, form);
    list.push_back(*n);
  }
  record(key, list);
  return list;
}

std::vector<std::int64_t> OptionTable::integers(const std::string& key, const std::vector<std::int64_t>& fallback,
                                                std::int64_t min, std::int64_t max) {
  auto list = checked_integers(key, min, max);
  if (!list) record(key, fallback);
  return list ? std::move(*list) : fallback;
}

std::optional<std::vector<std::int64_t>> OptionTable::required_integers(const std::string& key,
                                                                        const std::string& expected) {
  const json* value = find(key);
  if (!value) {
    missing(key, expected);
    return std::nullopt;
  }
  if (!value->is_array()) fail(key, expected);
  std::vector<std::int64_t> list;
  for (const json& element : *value) {
    const auto n = as_integer(element);
    if (!n) fail(key, expected);
    list.push_back(*n);
  }
  record(key, list);
  return list;
}

std::optional<std::vector<double>> OptionTable::numbers(const std::string& key) {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_array()) fail(key, "an array of numbers");
  std::vector<double> list;
  for (const json& element : *value) {
    if (!element.is_number()) fail(key, "an array of numbers");
    list.push_back(element.get<double>());
  }
  record(key, *value);
  return list;
}

std::vector<std::string> OptionTable::strings(const std::string& key, const std::vector<std::string>& fallback) {
  const json* value = find(key);
  std::vector<std::string> list = fallback;
  if (value) {
    if (!value->is_array()) fail(key, "an array of strings");
    list.clear();
    for (const json& element : *value) {
      if (!element.is_string()) fail(key, "an array of strings");
      list.push_back(element.get<std::string>());
    }
  }
  record(key, list);
  return list;
}

std::string OptionTable::name_or_index(const std::string& key, const std::string& fallback) {
  const json* value = find(key);
  std::string out = fallback;
  if (value) {
    if (value->is_string()) out = value->get<std::string>();
    else if (value->is_number_integer()) out = std::to_string(value->get<std::int64_t>());
    else fail(key, "a column name or an integer index");
  }
  record(key, out);
  return out;
}

OptionTable OptionTable::table(const std::string& key) {
  const json* value = find(key);
  static const json absent;
  return OptionTable(value ? *value : absent, context_, key_path(key), resolved_ ? &(*resolved_)[key] : nullptr);
}

const json* OptionTable::raw(const std::string& key) {
  const json* value = find(key);
  if (value) record(key, *value);
  return value;
}

json OptionTable::any(const std::string& key) {
  const json* value = raw(key);
  return value ? *value : json();
}

std::vector<std::string> OptionTable::unread_keys() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : node_.items())
    if (!read_.contains(key)) out.push_back(key);
  return out;
}

void OptionTable::finish() const {
  const auto unread = unread_keys();
  if (!unread.empty()) {
    const std::string suggestion = closest_match(unread.front(), known_);
    std::vector<std::string> sorted = known_;
    std::sort(sorted.begin(), sorted.end());
    throw Error(context_ + ": unknown key " + key_path(unread.front()) +
                (suggestion.empty() ? "" : " (did you mean " + key_path(suggestion) + "?)") + "; valid keys: " +
                (sorted.empty() ? std::string("(none)") : join(sorted)));
  }
  if (!first_missing_.empty()) throw Error(first_missing_);
}

}  // namespace descent
