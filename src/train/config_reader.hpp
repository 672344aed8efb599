#pragma once
// Reads one table of a config: each typed read checks the value, records it (or its default) in the
// resolved config, and marks the key as known; finish() rejects the keys nobody read.
#include <set>
#include <string>
#include <vector>

#include "descent/train/config.hpp"

namespace descent::train::detail {

class TableReader {
 public:
  // `node` must be an object or null (a missing table); `resolved` receives the values read.
  TableReader(const json& node, std::string path, json& resolved);

  bool has(const std::string& key) const { return node_.contains(key); }
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max = INT64_MAX);
  double number(const std::string& key, double fallback, double min, double max, bool min_open = false);
  bool flag(const std::string& key, bool fallback);
  std::string text(const std::string& key, const std::string& fallback);
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& accepted);
  std::vector<std::int64_t> integers(const std::string& key, const std::vector<std::int64_t>& fallback, std::int64_t min,
                                     std::int64_t max = INT64_MAX);
  std::vector<std::string> strings(const std::string& key, const std::vector<std::string>& fallback);
  // A string or an integer read as text (CSV columns).
  std::string name_or_index(const std::string& key, const std::string& fallback);
  // A nested table (possibly absent); its reader writes into resolved[key].
  TableReader table(const std::string& key);
  // The value as given (marked known, copied to resolved); null when absent.
  json any(const std::string& key);
  // Keys not read so far, for sections that pass them on (optimizer and schedule options).
  std::vector<std::string> unread_keys() const;
  void mark_read(const std::string& key) { read_.insert(key); }
  // Throws for the first key not read, suggesting the closest known one.
  void finish() const;

  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;
  json& resolved() { return resolved_; }
  const json& node() const { return node_; }

 private:
  const json& node_;
  std::string path_;
  json& resolved_;
  std::set<std::string> read_;
  std::vector<std::string> known_;
};

std::string join(const std::vector<std::string>& words, const std::string& separator = ", ");

}  // namespace descent::train::detail
