#include "descent/tune/storage.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>

#include "descent/core/error.hpp"
#include "sqlite.hpp"

namespace descent::tune {

using nlohmann::json;
using search::TrialState;

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS study (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL,
  config TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS trials (number INTEGER PRIMARY KEY, state TEXT NOT NULL, params TEXT NOT NULL,
  value REAL, worker TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0,
  heartbeat REAL NOT NULL DEFAULT 0, started REAL NOT NULL DEFAULT 0, finished REAL NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '', counted INTEGER NOT NULL DEFAULT 1, requeued_from INTEGER);
CREATE TABLE IF NOT EXISTS intermediate (trial INTEGER NOT NULL REFERENCES trials(number), step INTEGER NOT NULL,
  value REAL, PRIMARY KEY (trial, step));
CREATE TABLE IF NOT EXISTS pbt (generation INTEGER NOT NULL, member INTEGER NOT NULL, state TEXT NOT NULL,
  params TEXT NOT NULL, copied_from INTEGER, value REAL, worker TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0, heartbeat REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (generation, member));
)";

// A process that exists and is not a zombie (a killed worker whose parent has not reaped it yet is dead).
bool process_alive(std::int64_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid_t(pid), 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  const auto close = text.rfind(')');  // the command name may hold spaces and parentheses
  return close == std::string::npos || close + 2 >= text.size() || text[close + 2] != 'Z';
}

const char* kTrialColumns =
    "number, state, params, value, worker, host, pid, heartbeat, started, finished, error, counted, requeued_from";

StoredTrial read_trial(sql::Statement& s) {
  StoredTrial t;
  t.record.number = s.integer(0);
  const std::string state = s.text(1);
  t.waiting = state == "waiting";
  t.record.state = t.waiting ? TrialState::running : search::trial_state_from_string(state);
  t.record.params = json::parse(s.text(2));
  t.record.value = s.optional_real(3);
  t.worker = s.text(4);
  t.host = s.text(5);
  t.pid = s.integer(6);
  t.heartbeat = s.real(7);
  t.started = s.real(8);
  t.finished = s.real(9);
  t.error = s.text(10);
  t.counted = s.integer(11) != 0;
  if (!s.is_null(12)) t.requeued_from = s.integer(12);
  return t;
}

}  // namespace

WorkerIdentity WorkerIdentity::current() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return {name, std::int64_t(::getpid())};
}

double StoredTrial::wall_time_s() const {
  if (started <= 0) return 0;
  return (finished > 0 ? finished : heartbeat) - started;
}

std::string StoredTrial::state_name() const { return waiting ? "waiting" : search::to_string(record.state); }

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool worker_is_stale(const std::string& host, std::int64_t pid, double heartbeat, const WorkerIdentity& me,
                     double now, double stale_after_s) {
  if (host == me.host && !process_alive(pid)) return true;
  return now - heartbeat > stale_after_s;
}

StudyStorage::StudyStorage(const std::filesystem::path& db_path) : db_(std::make_unique<sql::Database>(db_path)) {
  db_->execute(kSchema);
}

StudyStorage::~StudyStorage() = default;

namespace {
// A study's identity: its config without the settings that may change between sessions (how many
// trials it asks for, how many workers run them).
json identity(json config) {
  if (config.contains("tune") && config["tune"].is_object()) {
    config["tune"].erase("trials");
    config["tune"].erase("parallel");
  }
  return config;
}
}  // namespace

void StudyStorage::open_study(const std::string& name, const json& config) {
  sql::Transaction tx(*db_);
  sql::Statement select(*db_, "SELECT name, config FROM study WHERE id = 1");
  if (select.step()) {
    const json stored = json::parse(select.text(1));
    DESCENT_CHECK(identity(stored) == identity(config), "study ", db_->path().parent_path().string(), " holds study \"",
                  select.text(0), "\" created from another config (only tune.trials and tune.parallel may change); "
                  "continue it with the same config or pick another --dir");
    sql::Statement update(*db_, "UPDATE study SET config = ? WHERE id = 1");
    update.bind(1, config.dump()).run();
    tx.commit();
    return;
  }
  sql::Statement insert(*db_, "INSERT INTO study (id, name, config, created) VALUES (1, ?, ?, ?)");
  insert.bind(1, name).bind(2, config.dump()).bind(3, unix_now()).run();
  tx.commit();
}

json StudyStorage::config() {
  sql::Statement select(*db_, "SELECT config FROM study WHERE id = 1");
  DESCENT_CHECK(select.step(), "study storage ", db_->path().string(), ": no study recorded");
  return json::parse(select.text(0));
}

namespace {

// Re-queues the stale running trials; the caller holds a transaction.
std::int64_t requeue_stale_trials(sql::Database& db, const WorkerIdentity& me, double stale_after_s) {
  const double now = unix_now();
  std::vector<std::tuple<std::int64_t, std::string, std::string>> stale;  // number, params, worker
  {
    sql::Statement running(db, "SELECT number, params, worker, host, pid, heartbeat FROM trials WHERE state = 'running'");
    while (running.step())
      if (worker_is_stale(running.text(3), running.integer(4), running.real(5), me, now, stale_after_s))
        stale.emplace_back(running.integer(0), running.text(1), running.text(2));
  }
  for (const auto& [number, params, worker] : stale) {
    sql::Statement abandon(db, "UPDATE trials SET state = 'failed', counted = 0, finished = ?, error = ? WHERE number = ?");
    abandon.bind(1, now).bind(2, "abandoned: worker " + worker + " died; params re-queued").bind(3, number).run();
    sql::Statement requeue(db,
                           "INSERT INTO trials (number, state, params, requeued_from) "
                           "SELECT COALESCE(MAX(number), -1) + 1, 'waiting', ?, ? FROM trials");
    requeue.bind(1, params).bind(2, number).run();
  }
  return std::int64_t(stale.size());
}

StoredTrial trial_by_number(sql::Database& db, std::int64_t number) {
  sql::Statement select(db, std::string("SELECT ") + kTrialColumns + " FROM trials WHERE number = ?");
  select.bind(1, number);
  DESCENT_CHECK(select.step(), "study storage: no trial ", number);
  return read_trial(select);
}

}  // namespace

std::int64_t StudyStorage::requeue_stale(const WorkerIdentity& me, double stale_after_s) {
  sql::Transaction tx(*db_);
  const std::int64_t n = requeue_stale_trials(*db_, me, stale_after_s);
  tx.commit();
  return n;
}

std::optional<StoredTrial> StudyStorage::claim(const WorkerIdentity& worker, std::int64_t target, double stale_after_s,
                                               const SampleFunction& sample) {
  sql::Transaction tx(*db_);
  requeue_stale_trials(*db_, worker, stale_after_s);
  const double now = unix_now();
  std::optional<std::int64_t> number;
  {
    sql::Statement waiting(*db_, "SELECT MIN(number) FROM trials WHERE state = 'waiting'");
    if (waiting.step() && !waiting.is_null(0)) number = waiting.integer(0);
  }
  if (!number) {
    // Sampling happens inside the write lock: two processes must not propose the same number, and a
    // sampler that learns from the history (TPE, GP) must see every trial created before this one.
    sql::Statement count(*db_, "SELECT COUNT(*) FROM trials WHERE counted = 1");
    count.step();
    if (count.integer(0) >= target) return std::nullopt;
    sql::Statement next(*db_, "SELECT COALESCE(MAX(number), -1) + 1 FROM trials");
    next.step();
    const std::int64_t new_number = next.integer(0);
    auto params = sample(history(), new_number);
    if (!params) return std::nullopt;
    sql::Statement insert(*db_, "INSERT INTO trials (number, state, params) VALUES (?, 'waiting', ?)");
    insert.bind(1, new_number).bind(2, params->dump()).run();
    number = new_number;
  }
  sql::Statement update(*db_,
                        "UPDATE trials SET state = 'running', worker = ?, host = ?, pid = ?, heartbeat = ?, started = ? "
                        "WHERE number = ?");
  update.bind(1, worker.label()).bind(2, worker.host).bind(3, worker.pid).bind(4, now).bind(5, now).bind(6, *number).run();
  StoredTrial claimed = trial_by_number(*db_, *number);
  tx.commit();
  return claimed;
}

}  // namespace descent::tune

namespace descent::tune {

void StudyStorage::report(std::int64_t number, std::int64_t step, double value) {
  sql::Transaction tx(*db_);
  sql::Statement insert(*db_, "INSERT OR REPLACE INTO intermediate (trial, step, value) VALUES (?, ?, ?)");
  insert.bind(1, number).bind(2, step).bind(3, value).run();
  sql::Statement beat(*db_, "UPDATE trials SET heartbeat = ? WHERE number = ?");
  beat.bind(1, unix_now()).bind(2, number).run();
  tx.commit();
}

void StudyStorage::heartbeat(std::int64_t number) {
  sql::Statement beat(*db_, "UPDATE trials SET heartbeat = ? WHERE number = ? AND state = 'running'");
  beat.bind(1, unix_now()).bind(2, number).run();
}

void StudyStorage::finish(std::int64_t number, TrialState state, std::optional<double> value, const std::string& error) {
  DESCENT_CHECK(state != TrialState::running, "study storage: finishing trial ", number, " as running");
  sql::Transaction tx(*db_);
  const double now = unix_now();
  // Only the worker's own running trial is finished: if it was re-queued meanwhile (a heartbeat missed for
  // longer than the stale limit), the re-queued copy stays the one that counts.
  sql::Statement update(*db_,
                        "UPDATE trials SET state = ?, value = ?, error = ?, finished = ?, heartbeat = ? "
                        "WHERE number = ? AND state = 'running'");
  update.bind(1, search::to_string(state)).bind(2, value).bind(3, error).bind(4, now).bind(5, now).bind(6, number).run();
  tx.commit();
}

std::vector<StoredTrial> StudyStorage::trials() {
  // One read transaction, so the trials and their intermediate values are one snapshot.
  db_->execute("BEGIN");
  std::vector<StoredTrial> out;
  std::map<std::int64_t, std::size_t> index;
  try {
    sql::Statement select(*db_, std::string("SELECT ") + kTrialColumns + " FROM trials ORDER BY number");
    while (select.step()) {
      out.push_back(read_trial(select));
      index[out.back().record.number] = out.size() - 1;
    }
    sql::Statement values(*db_, "SELECT trial, step, value FROM intermediate ORDER BY trial, step");
    while (values.step()) {
      auto it = index.find(values.integer(0));
      if (it == index.end()) continue;
      out[it->second].record.intermediate.emplace_back(values.integer(1), values.is_null(2) ? std::nan("") : values.real(2));
    }
  } catch (...) {
    db_->execute("ROLLBACK");
    throw;
  }
  db_->execute("COMMIT");
  return out;
}

std::vector<search::TrialRecord> StudyStorage::history() {
  std::vector<search::TrialRecord> records;
  sql::Statement select(*db_, std::string("SELECT ") + kTrialColumns + " FROM trials WHERE counted = 1 ORDER BY number");
  std::map<std::int64_t, std::size_t> index;
  while (select.step()) {
    records.push_back(read_trial(select).record);
    index[records.back().number] = records.size() - 1;
  }
  sql::Statement values(*db_, "SELECT trial, step, value FROM intermediate ORDER BY trial, step");
  while (values.step()) {
    auto it = index.find(values.integer(0));
    if (it != index.end())
      records[it->second].intermediate.emplace_back(values.integer(1), values.is_null(2) ? std::nan("") : values.real(2));
  }
  return records;
}

namespace {

const char* kMemberColumns = "generation, member, state, params, copied_from, value, worker, pid, host, heartbeat";

StudyStorage::PbtMember read_member(sql::Statement& s) {
  StudyStorage::PbtMember m;
  m.generation = s.integer(0);
  m.member = s.integer(1);
  m.state = s.text(2);
  m.params = json::parse(s.text(3));
  if (!s.is_null(4)) m.copied_from = s.integer(4);
  m.value = s.optional_real(5);
  m.worker = s.text(6);
  m.pid = s.integer(7);
  m.host = s.text(8);
  m.heartbeat = s.real(9);
  return m;
}

}  // namespace

std::vector<StudyStorage::PbtMember> StudyStorage::pbt_members() {
  std::vector<PbtMember> out;
  sql::Statement select(*db_, std::string("SELECT ") + kMemberColumns + " FROM pbt ORDER BY generation, member");
  while (select.step()) out.push_back(read_member(select));
  return out;
}

bool StudyStorage::add_pbt_generation(std::int64_t generation, const std::vector<PbtMember>& members) {
  sql::Transaction tx(*db_);
  sql::Statement exists(*db_, "SELECT COUNT(*) FROM pbt WHERE generation = ?");
  exists.bind(1, generation);
  exists.step();
  if (exists.integer(0) > 0) return false;
  for (const auto& m : members) {
    sql::Statement insert(*db_, "INSERT INTO pbt (generation, member, state, params, copied_from) VALUES (?, ?, 'waiting', ?, ?)");
    insert.bind(1, generation).bind(2, m.member).bind(3, m.params.dump());
    if (m.copied_from) insert.bind(4, *m.copied_from);
    insert.run();
  }
  tx.commit();
  return true;
}

std::optional<StudyStorage::PbtMember> StudyStorage::claim_pbt_member(const WorkerIdentity& worker, double stale_after_s) {
  sql::Transaction tx(*db_);
  const double now = unix_now();
  {
    std::vector<std::pair<std::int64_t, std::int64_t>> stale;
    sql::Statement running(*db_, "SELECT generation, member, host, pid, heartbeat FROM pbt WHERE state = 'running'");
    while (running.step())
      if (worker_is_stale(running.text(2), running.integer(3), running.real(4), worker, now, stale_after_s))
        stale.emplace_back(running.integer(0), running.integer(1));
    for (const auto& [generation, member] : stale) {
      sql::Statement requeue(*db_, "UPDATE pbt SET state = 'waiting' WHERE generation = ? AND member = ?");
      requeue.bind(1, generation).bind(2, member).run();
    }
  }
  sql::Statement select(*db_, std::string("SELECT ") + kMemberColumns +
                                  " FROM pbt WHERE state = 'waiting' ORDER BY generation, member LIMIT 1");
  if (!select.step()) return std::nullopt;
  PbtMember m = read_member(select);
  sql::Statement update(*db_,
                        "UPDATE pbt SET state = 'running', worker = ?, host = ?, pid = ?, heartbeat = ? "
                        "WHERE generation = ? AND member = ?");
  update.bind(1, worker.label()).bind(2, worker.host).bind(3, worker.pid).bind(4, now).bind(5, m.generation).bind(6, m.member).run();
  tx.commit();
  m.state = "running";
  m.worker = worker.label();
  return m;
}

void StudyStorage::finish_pbt_member(std::int64_t generation, std::int64_t member, std::optional<double> value) {
  sql::Transaction tx(*db_);
  sql::Statement update(*db_, "UPDATE pbt SET state = 'done', value = ?, heartbeat = ? WHERE generation = ? AND member = ?");
  update.bind(1, value).bind(2, unix_now()).bind(3, generation).bind(4, member).run();
  tx.commit();
}

void StudyStorage::heartbeat_pbt_member(std::int64_t generation, std::int64_t member) {
  sql::Statement update(*db_, "UPDATE pbt SET heartbeat = ? WHERE generation = ? AND member = ? AND state = 'running'");
  update.bind(1, unix_now()).bind(2, generation).bind(3, member).run();
}

}  // namespace descent::tune

namespace descent::tune {

void StudyStorage::ensure_trial(std::int64_t number, const json& params) {
  sql::Transaction tx(*db_);
  const double now = unix_now();
  sql::Statement insert(*db_,
                        "INSERT OR IGNORE INTO trials (number, state, params, heartbeat, started) VALUES (?, 'running', ?, ?, ?)");
  insert.bind(1, number).bind(2, params.dump()).bind(3, now).bind(4, now).run();
  tx.commit();
}

void StudyStorage::set_trial_params(std::int64_t number, const json& params) {
  sql::Statement update(*db_, "UPDATE trials SET params = ? WHERE number = ?");
  update.bind(1, params.dump()).bind(2, number).run();
}

}  // namespace descent::tune
