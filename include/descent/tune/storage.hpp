#pragma once
// The study storage: one SQLite file (STUDY_DIR/study.db) that every worker process of every `descent
// tune` working on the study shares. It is the source of truth; study.json is exported from it.
//
// Tables: study (name, the whole config as JSON), trials (number, state, params JSON, value, worker,
// host, pid, heartbeat, timings, error), intermediate (trial, step, value) and pbt (one row per member
// and generation). The database runs in WAL mode with a busy timeout; every change of state is one
// transaction, and claiming a trial is one BEGIN IMMEDIATE transaction (read the history, sample,
// insert), so two processes never create the same trial number nor claim the same trial.
//
// Dead workers: a running trial whose worker process is gone (same host, pid no longer alive) or whose
// heartbeat is older than `stale_after_s` is *re-queued*: the old row becomes "failed" with the error
// "abandoned: worker ... died", no longer counts towards the study's target, and a new trial with the
// same params waits at the head of the queue (its row names the old number in `requeued_from`). A killed
// study therefore keeps every finished trial and ends with as many counted trials as it asked for.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "descent/search/trial.hpp"

namespace descent::tune {

namespace sql {
class Database;
}

// Who runs a trial: the host name, the process id and a label ("host:pid").
struct WorkerIdentity {
  std::string host;
  std::int64_t pid = 0;
  static WorkerIdentity current();
  std::string label() const { return host + ":" + std::to_string(pid); }
};

struct StoredTrial {
  search::TrialRecord record;  // a waiting trial has state running here (with `waiting` set)
  bool waiting = false;        // re-queued, not yet claimed
  bool counted = true;         // false: abandoned by a dead worker (its params were re-queued)
  std::optional<std::int64_t> requeued_from;
  std::string worker;          // "host:pid" of the last worker that claimed it
  std::string host;
  std::int64_t pid = 0;
  double heartbeat = 0;        // Unix seconds
  double started = 0, finished = 0;
  std::string error;
  double wall_time_s() const;
  // "waiting", "running", "complete", "pruned" or "failed".
  std::string state_name() const;
};

// Proposes the params of trial `number` from the history; nothing when the sampler is exhausted (a
// finished grid).
using SampleFunction = std::function<std::optional<nlohmann::json>(const std::vector<search::TrialRecord>&, std::int64_t)>;

class StudyStorage {
 public:
  // Opens or creates STUDY_DIR/study.db (the folder must exist).
  explicit StudyStorage(const std::filesystem::path& db_path);
  ~StudyStorage();
  StudyStorage(const StudyStorage&) = delete;
  StudyStorage& operator=(const StudyStorage&) = delete;

  // Records the study on first use; later calls check that `config` is the stored one apart from
  // tune.trials and tune.parallel (a study folder holds one study; those two may change between sessions)
  // and store it, so workers see the latest trial count.
  void open_study(const std::string& name, const nlohmann::json& config);
  // The stored config; throws when the study was never opened.
  nlohmann::json config();

  // Re-queues stale trials (see above), then claims the oldest waiting trial, or creates trial
  // max(number)+1 with `sample`'s params while fewer than `target` trials count; nothing when the study
  // has its trials (or the sampler has no more). All in one transaction.
  std::optional<StoredTrial> claim(const WorkerIdentity& worker, std::int64_t target, double stale_after_s,
                                   const SampleFunction& sample);
  // Re-queues stale trials alone; returns how many.
  std::int64_t requeue_stale(const WorkerIdentity& me, double stale_after_s);

  // Records an intermediate value (NaN and infinities are stored as null) and refreshes the heartbeat.
  void report(std::int64_t number, std::int64_t step, double value);
  void heartbeat(std::int64_t number);
  // Ends a trial: complete, pruned or failed (with `error`).
  void finish(std::int64_t number, search::TrialState state, std::optional<double> value, const std::string& error = "");

  // Every trial with its intermediate values, by number.
  std::vector<StoredTrial> trials();
  // The sampler's view: counted trials (waiting ones as running).
  std::vector<search::TrialRecord> history();

  // Population-based training: each member is a trial row (created running, finished when the last
  // generation ends, its params those of its last generation) and one pbt row per (generation, member).
  void ensure_trial(std::int64_t number, const nlohmann::json& params);
  void set_trial_params(std::int64_t number, const nlohmann::json& params);
  struct PbtMember {
    std::int64_t generation = 0, member = 0;
    std::string state;  // waiting, running, done
    nlohmann::json params = nlohmann::json::object();
    std::optional<std::int64_t> copied_from;
    std::optional<double> value;
    std::string worker;
    std::int64_t pid = 0;
    std::string host;
    double heartbeat = 0;
  };
  std::vector<PbtMember> pbt_members();
  // Inserts generation rows unless that generation exists (the first writer wins); returns whether it did.
  bool add_pbt_generation(std::int64_t generation, const std::vector<PbtMember>& members);
  // Re-queues stale running members, then claims a waiting member of the lowest generation.
  std::optional<PbtMember> claim_pbt_member(const WorkerIdentity& worker, double stale_after_s);
  void finish_pbt_member(std::int64_t generation, std::int64_t member, std::optional<double> value);
  void heartbeat_pbt_member(std::int64_t generation, std::int64_t member);

  sql::Database& database() { return *db_; }

 private:
  std::unique_ptr<sql::Database> db_;
};

// Whether `worker` looks dead from `me`: same host and no such process, or heartbeat older than
// stale_after_s seconds before `now`.
bool worker_is_stale(const std::string& host, std::int64_t pid, double heartbeat, const WorkerIdentity& me,
                     double now, double stale_after_s);
double unix_now();

}  // namespace descent::tune
