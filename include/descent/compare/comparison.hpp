#pragma once
// The results of a comparison: each trial's final and best metrics and time to target read from its run
// folder, summaries across seeds per setup, and the paired tests of every setup against the baseline
// (docs/FORMATS.md, "Comparison"); then the same results as CSV and as a terminal table.
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "descent/compare/config.hpp"
#include "descent/compare/trials.hpp"

namespace descent::compare {

struct TrialResult {
  std::string setup;
  std::uint64_t seed = 0;
  std::string run_dir;  // relative to the comparison folder
  TrialOutcome outcome;
  std::map<std::string, double> final, best;  // the metrics summarised (see summary_metrics)
  std::optional<std::int64_t> steps_to_target;
  std::optional<double> time_to_target_s;     // training time (the trainer's elapsed_s) at that epoch
  std::vector<std::string> epoch_keys;        // every metric the run's epoch records hold
};

// Reads a finished trial's metrics.jsonl (epoch records). A trial that failed keeps empty metrics; one that
// claims success but has no epoch record is marked failed with that reason.
TrialResult read_trial_result(const CompareConfig& config, const TrialSpec& spec, const TrialOutcome& outcome,
                              const std::filesystem::path& compare_dir);

// The metrics summarised as final_* and best_*: the compared metric, then val_loss and val_accuracy.
std::vector<std::string> summary_metrics(const CompareConfig& config);

// The comparison.json document. Throws descent::Error when no successful trial has the compared metric
// (naming the metrics the trials do have).
nlohmann::json build_comparison(const CompareConfig& config, const std::vector<TrialResult>& trials);

// comparison.csv: one row per setup, empty cells for values that do not exist.
std::string comparison_csv(const nlohmann::json& comparison);
// The two aligned tables printed by `descent compare`: per-setup summaries, then the tests against the
// baseline.
std::string comparison_table(const nlohmann::json& comparison);

}  // namespace descent::compare
