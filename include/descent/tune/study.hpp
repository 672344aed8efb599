#pragma once
// A study folder and the workers that fill it.
//
//   STUDY_DIR/study.db        the storage (storage.hpp), the source of truth
//   STUDY_DIR/study.json      exported after every finished trial (docs/FORMATS.md)
//   STUDY_DIR/best.toml       the best complete trial's config, ready for `descent train`
//   STUDY_DIR/trials/NNNN/    each trial's run folder (as `descent train` writes one)
//
// Workers are processes (or the caller itself) that call run_worker: each claims a trial from the
// storage, trains it in-process, reports its metric after every epoch (where the pruner may stop it),
// records the outcome and exports study.json; until the study has its trials. Any number of workers of any
// number of `descent tune` processes share a study through the storage.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "descent/tune/settings.hpp"
#include "descent/tune/storage.hpp"

namespace descent::tune {

// Creates the folder and records the study (or checks that the folder holds this study); returns the
// settings read from `raw` (a training config with a [tune] table).
StudySettings create_study(const std::filesystem::path& study_dir, const nlohmann::json& raw);

struct WorkerOptions {
  int threads = 1;              // compute threads of this worker's training
  std::FILE* log = stderr;      // one progress line per finished trial
  double heartbeat_s = 5.0;     // how often the running trial's heartbeat is refreshed
};

// Runs trials of the study in `study_dir` until it has its trials (or PBT members until the last
// generation is done). Returns how many this worker finished.
std::int64_t run_worker(const std::filesystem::path& study_dir, const WorkerOptions& options = {});

// The run folder of trial `number`, relative to the study folder: trials/0007.
std::filesystem::path trial_run_dir(std::int64_t number);

// study.json's content (docs/FORMATS.md) from the storage.
nlohmann::json study_json(StudyStorage& storage, const StudySettings& settings);
// Writes study.json and, once a trial is complete, best.toml (atomically, one exporter at a time);
// returns the study JSON.
nlohmann::json export_study(const std::filesystem::path& study_dir);

}  // namespace descent::tune
