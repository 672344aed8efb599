#pragma once
// Runs the trials of a comparison, each as a child process of the `descent` program (`descent train`, or
// `descent resume` for a trial that was interrupted), a few at a time. A child process per trial gives
// each its own honest peak memory (the child's maximum resident set size, from wait4) and isolates a
// failing trial: its status becomes "failed" with the error it printed, and the others carry on.
//
// A trial folder holds a training run folder (config.toml, metrics.jsonl, epochs.csv, summary.json,
// checkpoints/) and three files of the comparison:
//   trial.toml   the training config handed to `descent train`
//   trial.log    everything the trial's processes printed (progress lines, errors)
//   trial.json   {status: "running" | "ok" | "failed", error, wall_time_s, cpu_time_s, peak_rss_mb}
// A finished trial (status ok, summary.json present) is reused when the comparison is run again, and an
// interrupted one is resumed from its last checkpoint, so stopping a comparison loses at most the epochs
// in progress.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace descent::compare {

struct TrialSpec {
  std::string setup;
  std::uint64_t seed = 0;
  std::filesystem::path dir;   // the trial folder
  nlohmann::json config;       // the raw training config (see trial_config)
};

struct TrialOutcome {
  std::string status = "failed";  // ok or failed
  std::string error;              // when failed: the error the trial printed, or how its process ended
  double wall_time_s = 0;         // of the trial's processes, summed over sessions
  double cpu_time_s = 0;          // user + system time of those processes: its cost on a busy machine too
  double peak_rss_mb = 0;         // the largest maximum resident set size of its processes
  bool reused = false;            // finished by an earlier run of the comparison
};

// Runs the trials not yet finished, at most `parallel` at a time, with `program` (the descent executable).
// One line per started and finished trial goes to `log`. Returns one outcome per spec, in order. Throws
// descent::Error when a trial folder holds a run of a different config (another comparison's folder).
// Waits for any child of the calling process: call it from a process with no other children.
std::vector<TrialOutcome> run_trials(const std::vector<TrialSpec>& trials, const std::filesystem::path& program,
                                     int parallel, std::FILE* log);

// The record of a trial folder's trial.json (status "missing" when there is none).
TrialOutcome read_trial_record(const std::filesystem::path& dir);

}  // namespace descent::compare
