#pragma once
// Run folders: what `descent train`, `descent resume` and `descent eval` work on.
//   RUN_DIR/config.toml          the resolved config (defaults filled in)
//   RUN_DIR/metrics.jsonl        step and epoch records; steps.csv and epochs.csv exported from it
//   RUN_DIR/checkpoints/         best, last and step-N .safetensors (see checkpoint.hpp)
//   RUN_DIR/summary.json         the summary of the last session (also the last line `train` prints)
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "descent/train/config.hpp"

namespace descent::train {

struct RunOptions {
  std::optional<std::string> progress;  // overrides trainer.progress (auto, bar, log, none)
  std::FILE* progress_out = stderr;
};

// Trains `config` into `run_dir` (created; refused when it already holds a run). Returns the summary:
// {run_dir, name, steps, epochs, wall_time_s, stopped, final: {val_*}, best: {monitor, value, epoch},
//  test: {test_*}, steps_skipped, parameters}.
nlohmann::json train_run(const Config& config, const std::filesystem::path& run_dir, const RunOptions& options = {});
// Continues the run in `run_dir` from its newest valid checkpoint (from the start when there is none);
// refused or corrupted checkpoint files are reported on progress_out and skipped.
nlohmann::json resume_run(const std::filesystem::path& run_dir, const RunOptions& options = {});
// Test-split metrics of a checkpoint of the run: "best", "last" or a file path.
nlohmann::json evaluate_run(const std::filesystem::path& run_dir, const std::string& checkpoint = "best");

// The current UTC date-time as YYYYmmdd-HHMMSS: the suffix of default folder names.
std::string utc_stamp();
// runs/<name>-<UTC date-time> where name is config.name, or the config file's stem when unnamed.
std::filesystem::path default_run_dir(const Config& config, const std::filesystem::path& config_path);

}  // namespace descent::train
