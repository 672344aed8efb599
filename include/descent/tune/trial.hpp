#pragma once
// One trial's training: a run folder (config.toml, metrics.jsonl, checkpoints/, summary.json) trained
// in-process, with a callback that reports the tuned metric after every epoch and may stop the run.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "descent/train/builders.hpp"
#include "descent/train/callbacks.hpp"
#include "descent/train/config.hpp"
#include "descent/train/run.hpp"
#include "descent/train/trainer.hpp"

namespace descent::tune {

// A trial's training, built like `descent train` builds a run (train::open_run_session; no progress
// display).
using TrialSession = train::RunSession;

// Writes config.toml into `run_dir` (created) and builds the session.
TrialSession open_trial_session(const train::Config& config, const std::filesystem::path& run_dir);

// Called after each epoch with (epoch, metric value); returns true to stop the trial (pruned).
using EpochReport = std::function<bool(std::int64_t epoch, double value)>;

struct TrialOutcome {
  std::optional<double> value;  // the metric at the last epoch (nothing when not finite)
  bool pruned = false;
  nlohmann::json summary;       // also written to RUN_DIR/summary.json
};

// Adds the reporting callback to `session`, trains, and writes summary.json. `metric` must be an
// epoch-record key (an error lists the available ones).
TrialOutcome train_trial(TrialSession& session, const std::filesystem::path& run_dir, const std::string& metric,
                         const EpochReport& report);

}  // namespace descent::tune
