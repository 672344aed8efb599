#include "descent/tune/study.hpp"

#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "descent/core/error.hpp"
#include "descent/core/parallel.hpp"
#include "descent/search/sampler.hpp"
#include "descent/train/safetensors.hpp"
#include "descent/tune/pbt.hpp"
#include "descent/tune/pruner.hpp"
#include "descent/tune/trial.hpp"
#include "worker_support.hpp"

namespace descent::tune {

using nlohmann::json;
using search::TrialState;

std::filesystem::path trial_run_dir(std::int64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "%04lld", static_cast<long long>(number));
  return std::filesystem::path("trials") / name;
}

StudySettings create_study(const std::filesystem::path& study_dir, const json& raw) {
  StudySettings settings = read_study_settings(raw);
  // A folder with trials but without its database lost its records; a new study there would overwrite
  // the old trials' folders one by one.
  const auto db = study_dir / "study.db";
  std::error_code error;
  const bool no_records = !std::filesystem::exists(db) || std::filesystem::file_size(db, error) == 0;
  const bool has_trials = std::filesystem::is_directory(study_dir / "trials") && !std::filesystem::is_empty(study_dir / "trials");
  if (no_records && (has_trials || std::filesystem::exists(study_dir / "study.json")))
    throw Error("study folder " + study_dir.string() + " holds " + (has_trials ? "trials/" : "study.json") +
                " but its study.db is " + (std::filesystem::exists(db) ? "empty" : "missing") +
                ", so the study's records are lost; a new study here would overwrite its trials. Move the folder "
                "away, or pick another --dir");
  std::filesystem::create_directories(study_dir);
  StudyStorage storage(db);
  storage.open_study(settings.name, raw);
  if (settings.pbt) {
    for (const auto& m : first_generation(settings)) storage.ensure_trial(m.member, m.params);
    storage.add_pbt_generation(0, first_generation(settings));
  }
  return settings;
}

namespace {

std::string format_value(std::optional<double> value) {
  if (!value) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", *value);
  return text;
}

std::int64_t run_trials(StudyStorage& storage, const StudySettings& settings, const std::filesystem::path& study_dir,
                        const WorkerOptions& options, Heartbeat& heartbeat) {
  const WorkerIdentity me = WorkerIdentity::current();
  auto sampler = search::make_sampler(settings.sampler, settings.sampler_options, settings.direction, settings.seed);
  std::unique_ptr<Pruner> pruner;
  if (!settings.pruner.empty())
    pruner = make_pruner(settings.pruner, settings.pruner_options, train::parse_config(settings.base).trainer.epochs);
  std::int64_t done = 0;
  while (true) {
    auto trial = storage.claim(me, settings.trials, settings.stale_after_s,
                               [&](const std::vector<search::TrialRecord>& history, std::int64_t number) -> std::optional<json> {
                                 if (!sampler->has_next(settings.space, history)) return std::nullopt;
                                 return sampler->sample(settings.space, history, number);
                               });
    if (!trial) break;
    const std::int64_t number = trial->record.number;
    const auto relative = trial_run_dir(number);
    const auto run_dir = study_dir / relative;
    heartbeat.watch([number](StudyStorage& s) { s.heartbeat(number); });
    TrialState state = TrialState::failed;
    std::optional<double> value;
    std::string error;
    const auto start = std::chrono::steady_clock::now();
    try {
      char name[32];
      std::snprintf(name, sizeof name, "-%04lld", static_cast<long long>(number));
      const train::Config config = trial_config(settings.base, trial->record.params, settings.name + name);
      TrialSession session = open_trial_session(config, run_dir);
      const TrialOutcome outcome =
          train_trial(session, run_dir, settings.metric, [&](std::int64_t epoch, double v) {
            storage.report(number, epoch, v);
            if (!pruner) return false;
            search::TrialRecord self = trial->record;
            self.intermediate.clear();
            std::vector<search::TrialRecord> study = storage.history();
            for (const auto& t : study)
              if (t.number == number) self.intermediate = t.intermediate;
            return pruner->should_prune(self, study, settings.direction);
          });
      value = outcome.value;
      if (outcome.pruned) {
        state = TrialState::pruned;
      } else if (value) {
        state = TrialState::complete;
      } else {
        error = settings.metric + " is not finite";
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    heartbeat.watch(nullptr);
    storage.finish(number, state, value, error);
    ++done;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(options.log, "trial %lld %s %s=%s in %.1f s %s%s%s\n", static_cast<long long>(number),
                 search::to_string(state).c_str(), settings.metric.c_str(), format_value(value).c_str(), seconds,
                 trial->record.params.dump().c_str(), error.empty() ? "" : " error: ", error.c_str());
    std::fflush(options.log);
    export_study(study_dir);
  }
  return done;
}

}  // namespace

std::int64_t run_worker(const std::filesystem::path& study_dir, const WorkerOptions& options) {
  DESCENT_CHECK(std::filesystem::is_regular_file(study_dir / "study.db"), "tune: ", study_dir.string(),
                " holds no study.db (create the study with `descent tune CONFIG --dir ", study_dir.string(), "`)");
  set_num_threads(std::max(1, options.threads));
  StudyStorage storage(study_dir / "study.db");
  const StudySettings settings = read_study_settings(storage.config());
  // Several beats within the stale limit, so one slow write never makes a live trial look dead.
  Heartbeat heartbeat(study_dir / "study.db", std::min(options.heartbeat_s, settings.stale_after_s / 4));
  if (settings.pbt) return run_pbt_units(storage, settings, study_dir, options, heartbeat);
  return run_trials(storage, settings, study_dir, options, heartbeat);
}

json study_json(StudyStorage& storage, const StudySettings& settings) {
  json trials = json::array();
  std::optional<std::pair<double, const StoredTrial*>> best;
  const auto stored = storage.trials();
  for (const auto& t : stored) {
    if (t.waiting) continue;  // queued, not started
    json intermediate = json::array();
    for (const auto& [step, v] : t.record.intermediate)
      intermediate.push_back({step, std::isfinite(v) ? json(v) : json(nullptr)});
    std::optional<double> value = t.record.value;
    // A pruned trial's value is its last report (what the sampler learns from too).
    if (!value && t.record.state == TrialState::pruned && !t.record.intermediate.empty() &&
        std::isfinite(t.record.intermediate.back().second))
      value = t.record.intermediate.back().second;
    json entry = {{"number", t.record.number},
                  {"state", search::to_string(t.record.state)},
                  {"params", t.record.params},
                  {"value", value ? json(*value) : json(nullptr)},
                  {"intermediate", intermediate},
                  {"wall_time_s", t.wall_time_s()},
                  {"run_dir", t.started > 0 || t.record.state != TrialState::failed ? json(trial_run_dir(t.record.number).string())
                                                                                     : json(nullptr)}};
    if (!t.error.empty()) entry["error"] = t.error;
    trials.push_back(entry);
    if (t.record.state == TrialState::complete && t.record.value && std::isfinite(*t.record.value)) {
      const double v = *t.record.value;
      const bool better = !best || (settings.direction == search::Direction::minimize ? v < best->first : v > best->first);
      if (better) best = std::make_pair(v, &t);
    }
  }
  json pruner = settings.pruner.empty() ? json(nullptr) : json(settings.pruner);
  json out = {{"kind", "study"},
              {"name", settings.name},
              {"metric", settings.metric},
              {"direction", search::to_string(settings.direction)},
              {"sampler", settings.pbt ? std::string("pbt") : settings.sampler},
              {"pruner", pruner},
              {"space", settings.space_spec},
              {"trials", trials},
              {"best", nullptr},
              {"pbt", nullptr}};
  if (best)
    out["best"] = {{"number", best->second->record.number}, {"value", best->first}, {"params", best->second->record.params}};
  if (settings.pbt) {
    json generations = json::array();
    for (const auto& m : storage.pbt_members()) {
      if (generations.empty() || generations.back()["generation"] != m.generation)
        generations.push_back({{"generation", m.generation}, {"members", json::array()}});
      generations.back()["members"].push_back({{"trial", m.member},
                                               {"value", m.value ? json(*m.value) : json(nullptr)},
                                               {"params", m.params},
                                               {"copied_from", m.copied_from ? json(*m.copied_from) : json(nullptr)}});
    }
    out["pbt"] = {{"generations", generations}};
  }
  return out;
}

json export_study(const std::filesystem::path& study_dir) {
  // One exporter at a time, each from a fresh snapshot: the last file written is never older than another.
  const auto lock_path = study_dir / ".export.lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  DESCENT_CHECK(fd >= 0, "tune: cannot open ", lock_path.string());
  ::flock(fd, LOCK_EX);
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{fd};
  StudyStorage storage(study_dir / "study.db");
  StudySettings settings;
  json study;
  try {
    settings = read_study_settings(storage.config());
    study = study_json(storage, settings);
  } catch (const json::exception& e) {
    // A row whose JSON column (the study's config, a trial's params) is damaged.
    throw Error("study " + (study_dir / "study.db").string() + ": a row holds malformed JSON (" + e.what() + ")");
  }
  // Text columns (errors, worker names) may hold bytes that are not UTF-8: written as U+FFFD.
  train::write_file_atomic(study_dir / "study.json", study.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
  if (!study["best"].is_null()) {
    json params = study["best"]["params"];
    // A PBT member trained generations x interval epochs; its config trains as long (from scratch, with
    // the member's final hyperparameters; the weights PBT produced are in the member's run folder).
    if (settings.pbt) params["trainer.epochs"] = settings.pbt->generations * settings.pbt->interval;
    const json raw = trial_raw_config(settings.base, params, settings.name + "-best");
    train::write_file_atomic(study_dir / "best.toml", train::to_toml(train::parse_config(raw).resolved));
  }
  return study;
}

}  // namespace descent::tune
