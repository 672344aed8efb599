#pragma once
// Comparison configs: a training config (docs/CONFIG.md) plus a [compare] table naming the optimizer
// setups, the seeds and the statistics (docs/COMPARE.md). Every trial is the training config with one
// setup's tables applied and one seed; the seed alone decides the data split, the initial weights, the
// batch order and dropout, so for a given seed every setup starts from the same point and sees the same
// batches (the trials are paired).
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace descent::compare {

using nlohmann::json;

// One arm of the comparison. `overrides` holds the setup's own tables as given: `optimizer` replaces the
// base optimizer (keeping its no_decay_bias_and_norm, no_decay and groups unless the setup sets them),
// `schedule` replaces the base schedule (the string "none" removes it), `transforms` and `trainer` are
// merged key by key into the base.
struct SetupConfig {
  std::string name;
  json overrides = json::object();
};

// Steps and time until `metric` first reaches `value` at an epoch's end (<= for mode min, >= for max).
struct TargetConfig {
  std::string metric;
  double value = 0;
  std::string mode;
};

struct CompareConfig {
  std::string name;                  // the training config's name (or the config file's stem)
  std::vector<std::uint64_t> seeds;  // `seeds = N` means seed, seed+1, ..., seed+N-1 of the base config
  std::vector<SetupConfig> setups;
  std::string baseline;              // default: the first setup
  std::string metric = "val_loss";   // any epoch-record key starting with val_ or train_
  std::string mode;                  // min or max (default: min for a loss, mse or mae, else max)
  std::string at = "final";          // the value of each trial the tests compare: final or best
  std::optional<TargetConfig> target;
  int parallel = 1;                  // trials at once (default: the cores, at most the trials)
  int threads = 1;                   // trainer threads per trial (default: cores / parallel, at least 1)
  json base = json::object();        // the training config without [compare]
  json resolved = json::object();    // the [compare] table with every default filled in
};

// min for metric names holding "loss", "mse" or "mae", else max.
std::string default_mode(const std::string& metric);

// Validates the raw config (a parsed TOML document) and fills the defaults; `cores` decides parallel and
// threads when unset. Each trial's training config is validated too, so a bad optimizer option is reported
// before anything runs. Throws descent::Error naming the key, the value and what is accepted.
CompareConfig parse_compare_config(const json& raw, const std::string& fallback_name, int cores);
// load_toml + `--set` overrides (paths may start with compare.) + parse_compare_config.
CompareConfig load_compare_config(const std::filesystem::path& path, const std::vector<std::string>& overrides, int cores);

// The raw training config of one trial: the base with the setup applied, `seed`, the name
// "<name>-<setup>-seed<seed>", trainer.threads and trainer.progress = "log".
json trial_config(const CompareConfig& config, const SetupConfig& setup, std::uint64_t seed);

}  // namespace descent::compare
