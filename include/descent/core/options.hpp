#pragma once
// Reading a table of options: the config's TOML tables, an optimizer's, schedule's or sampler's JSON
// options. Each typed read checks the value and marks the key as known; finish() rejects any key nobody
// read, suggesting the closest known one. Every reader in descent reports in one format:
//
//   <context>: <path.key> = <value>: expected <form>
//   <context>: <path.key> is required: expected <form>
//   <context>: unknown key <path.key> (did you mean <path.other>?); valid keys: <a, b, c>
//
// where the context names what is being read ("config", "schedule cosine", "sampler tpe", "optimizer
// adam") and the path is the table's place inside it ("trainer", "compare.target", or empty).
// A null value counts as absent. Integers may be written as integral floats (30.0).
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace descent {

// The words joined with the separator ("a, b, c").
std::string join(const std::vector<std::string>& words, const std::string& separator = ", ");

// The candidate closest to `word` by edit distance (case-insensitive), or "" when none is within a third
// of the word's length (at least 2 edits).
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

class OptionTable {
 public:
  static constexpr std::int64_t kNoMin = std::numeric_limits<std::int64_t>::min();
  static constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  // `node` must be an object or null (an absent table). `resolved`, when given, receives every value
  // read, or its default, so that a caller can write out the configuration as it was understood.
  OptionTable(const nlohmann::json& node, std::string context, std::string path = "",
              nlohmann::json* resolved = nullptr);

  bool has(const std::string& key) const;

  // An integer, as given (nullopt when absent), or the fallback; the fallback forms check [min, max].
  std::optional<std::int64_t> integer(const std::string& key);
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min = kNoMin,
                       std::int64_t max = kNoMax);
  std::int64_t required_integer(const std::string& key, std::int64_t min = kNoMin, std::int64_t max = kNoMax);

  // A number, as given (nullopt when absent), or the fallback; the fallback forms require a finite number
  // in [min, max], or (min, max] when `min_open`.
  std::optional<double> number(const std::string& key);
  double number(const std::string& key, double fallback, double min = -kInf, double max = kInf,
                bool min_open = false);
  double required_number(const std::string& key);

  bool flag(const std::string& key, bool fallback);
  std::optional<std::string> text(const std::string& key);
  std::string text(const std::string& key, const std::string& fallback);
  // A string that must be one of `accepted`; a near miss gets a suggestion.
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& accepted);

  std::optional<std::vector<std::int64_t>> integers(const std::string& key);
  std::vector<std::int64_t> integers(const std::string& key, const std::vector<std::int64_t>& fallback,
                                     std::int64_t min, std::int64_t max = kNoMax);
  // Required lists record an error for finish() and return nullopt, so that a builder can read every
  // option before it fails.
  std::optional<std::vector<std::int64_t>> required_integers(const std::string& key, const std::string& expected);
  std::optional<std::vector<double>> numbers(const std::string& key);
  std::vector<std::string> strings(const std::string& key, const std::vector<std::string>& fallback);
  // A string, or an integer read as text (a CSV column by name or index).
  std::string name_or_index(const std::string& key, const std::string& fallback);

  // A nested table (possibly absent); its reader writes into resolved[key].
  OptionTable table(const std::string& key);
  // The value as given, marked known and copied to resolved; nullptr when absent.
  const nlohmann::json* raw(const std::string& key);
  nlohmann::json any(const std::string& key);

  // Keys not read so far, for tables that pass the rest on (an optimizer's own options).
  std::vector<std::string> unread_keys() const;
  void mark_read(const std::string& key) { read_.insert(key); }
  // A key whose value the caller checks elsewhere: known (listed among the valid keys) and read.
  void accept(const std::string& key);
  // Throws for the first key not read, then for the first required key that was absent.
  void finish() const;

  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  // Throws the format above for `key`: its value and the form expected, or that it is required.
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;
  // The resolved table; only for a reader constructed with one.
  nlohmann::json& resolved();
  const nlohmann::json& node() const { return node_; }
  const std::string& context() const { return context_; }
  const std::string& path() const { return path_; }

 private:
  const nlohmann::json* find(const std::string& key);
  std::optional<std::int64_t> checked_integer(const std::string& key, std::int64_t min, std::int64_t max);
  std::optional<std::vector<std::int64_t>> checked_integers(const std::string& key, std::int64_t min,
                                                            std::int64_t max);
  void record(const std::string& key, nlohmann::json value);
  void missing(const std::string& key, const std::string& expected);

  nlohmann::json node_;
  std::string context_;
  std::string path_;
  nlohmann::json* resolved_;  // nullptr when the caller keeps none
  std::set<std::string> read_;
  std::vector<std::string> known_;
  std::string first_missing_;
};

}  // namespace descent
