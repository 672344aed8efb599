#pragma once
// Reading a sampler's JSON options: typed look-ups with defaults and range checks, and an error for
// any key the sampler does not know, listing the ones it does.
#include <cstdint>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace descent::search::detail {

class OptionReader {
 public:
  OptionReader(std::string sampler, const nlohmann::json& options);
  // An integer option in [min, max].
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  // A finite number in [min, max].
  double number(const std::string& key, double fallback, double min, double max);
  bool boolean(const std::string& key, bool fallback);
  // Throws unless every key of the options was read.
  void finish() const;

 private:
  const nlohmann::json* find(const std::string& key);
  std::string sampler_;
  nlohmann::json options_;
  std::set<std::string> known_;
};

}  // namespace descent::search::detail
