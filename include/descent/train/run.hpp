#pragma once
// Run folders: what `descent train`, `descent resume` and `descent eval` work on.
//   RUN_DIR/config.toml          the resolved config (defaults filled in)
//   RUN_DIR/metrics.jsonl        step and epoch records; steps.csv and epochs.csv exported from it
//   RUN_DIR/checkpoints/         best, last and step-N .safetensors (see checkpoint.hpp)
//   RUN_DIR/summary.json         the summary of the last session (also the last line `train` prints)
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "descent/train/builders.hpp"
#include "descent/train/callbacks.hpp"
#include "descent/train/config.hpp"
#include "descent/train/trainer.hpp"

namespace descent::train {

struct RunOptions {
  std::optional<std::string> progress;  // overrides trainer.progress (auto, bar, log, none)
  std::FILE* progress_out = stderr;
};

// Everything one training session of a run folder holds.
struct RunSession {
  Config config;
  DataSplits splits;
  std::unique_ptr<data::DataLoader> train_loader, validation_loader;
  std::unique_ptr<Trainer> trainer;
  std::shared_ptr<ModelCheckpoint> checkpoint;
};

// Builds a session writing into `run_dir` as `descent train` does: datasets and loaders, the trainer, the
// schedule, the metrics log, plateau feeding, early stopping, checkpoints and the progress display (none
// when options.progress is "none"). Writes no config.toml and sets no thread count: callers do.
// `descent tune` builds its trials with it and adds its own reporting callback.
RunSession open_run_session(const Config& config, const std::filesystem::path& run_dir, const RunOptions& options = {});

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
