#pragma once
// Reads a schedule's JSON options: typed getters with defaults, and an unknown-option check that lists
// the options the schedule accepts. Read every option before finish(), so the list is complete.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace descent::schedule::detail {

class OptionReader {
 public:
  OptionReader(std::string schedule, const nlohmann::json& options);

  std::optional<double> number(const std::string& key);
  double number(const std::string& key, double fallback) { return number(key).value_or(fallback); }
  double required_number(const std::string& key);

  std::optional<std::int64_t> integer(const std::string& key);
  std::int64_t integer(const std::string& key, std::int64_t fallback) { return integer(key).value_or(fallback); }
  std::int64_t required_integer(const std::string& key);

  bool boolean(const std::string& key, bool fallback);
  std::optional<std::string> text(const std::string& key);
  std::string text(const std::string& key, const std::string& fallback) { return text(key).value_or(fallback); }

  std::optional<std::vector<std::int64_t>> integers(const std::string& key);
  std::optional<std::vector<double>> numbers(const std::string& key);
  // nullopt (and an error at finish()) when absent.
  std::optional<std::vector<std::int64_t>> required_integers(const std::string& key, const std::string& expected);
  const nlohmann::json* raw(const std::string& key);  // nullptr when absent

  // Throws naming the first option not read, with the list of valid ones; then naming the first
  // required option that was absent. Required getters return a placeholder until then, so a builder
  // reads everything, calls finish(), and only then constructs.
  void finish() const;

 private:
  const nlohmann::json* find(const std::string& key);
  [[noreturn]] void fail(const std::string& key, const nlohmann::json& value, const std::string& expected) const;
  std::string schedule_;
  const nlohmann::json& options_;
  void missing(const std::string& key, const std::string& expected);
  std::vector<std::string> known_;
  std::string first_missing_;  // the message for the first absent required option
};

}  // namespace descent::schedule::detail
