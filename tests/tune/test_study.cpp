// Whole studies through the built program: the output folder, continuing a study, two processes on one
// study, a study killed with SIGKILL and resumed, and best.toml trained by `descent train`.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli/run.hpp"
#include "descent/tune/storage.hpp"
#include "descent/tune/study.hpp"
#include "study_fixture.hpp"

namespace descent::tune {
namespace {

using descent::testing::last_line;
using descent::testing::run_descent;
using nlohmann::json;
using namespace descent::tune::testing;

std::string study_config(int trials, int parallel, const std::string& extra = "", int samples = 200, int epochs = 3) {
  return tiny_base(samples, epochs) + "[tune]\nname = \"tiny-study\"\ntrials = " + std::to_string(trials) +
         "\nparallel = " + std::to_string(parallel) + "\nseed = 3\n" + extra +
         "[tune.sampler]\nname = \"random\"\n"
         "[tune.space.\"optimizer.lr\"]\ntype = \"float\"\nlow = 0.001\nhigh = 0.3\nlog = true\n"
         "[tune.space.\"optimizer.momentum\"]\ntype = \"float\"\nlow = 0.0\nhigh = 0.9\n";
}

json read_json(const std::filesystem::path& path) { return json::parse(read_text(path)); }

TEST(TuneCommand, WritesTheStudyFolderAndContinuesIt) {
  const auto dir = scratch("e2e");
  const auto config = write_file(dir / "study.toml",
                                 study_config(5, 2, "") + "[tune.pruner]\nname = \"median\"\nn_startup_trials = 2\n");
  const auto study_dir = dir / "study";
  auto result = run_descent("tune " + config.string() + " --dir " + study_dir.string());
  ASSERT_EQ(result.status, 0) << result.output;
  const json summary = json::parse(last_line(result.output));
  EXPECT_EQ(summary["complete"].get<int>() + summary["pruned"].get<int>(), 5) << result.output;
  EXPECT_EQ(summary["best_config"], (study_dir / "best.toml").string());

  const json study = read_json(study_dir / "study.json");
  EXPECT_EQ(study["kind"], "study");
  EXPECT_EQ(study["metric"], "val_loss");
  EXPECT_EQ(study["direction"], "minimize");
  EXPECT_EQ(study["sampler"], "random");
  EXPECT_EQ(study["pruner"], "median");
  EXPECT_TRUE(study["space"].contains("optimizer.lr"));
  ASSERT_EQ(study["trials"].size(), 5u);
  double best = 1e300;
  for (std::size_t i = 0; i < 5; ++i) {
    const json& t = study["trials"][i];
    EXPECT_EQ(t["number"], i);
    EXPECT_TRUE(t["state"] == "complete" || t["state"] == "pruned") << t.dump();
    EXPECT_TRUE(std::filesystem::exists(study_dir / t["run_dir"].get<std::string>() / "metrics.jsonl"));
    EXPECT_GT(t["wall_time_s"].get<double>(), 0.0);
    ASSERT_FALSE(t["intermediate"].empty());
    EXPECT_EQ(t["intermediate"][0][0], 1);  // epochs, from 1
    if (t["state"] == "complete") {
      EXPECT_EQ(t["intermediate"].size(), 3u);
      EXPECT_EQ(t["value"], t["intermediate"].back()[1]);  // the last epoch's metric
      best = std::min(best, t["value"].get<double>());
    }
  }
  EXPECT_EQ(study["best"]["value"].get<double>(), best);
  EXPECT_TRUE(study["pbt"].is_null());

  // best.toml is a ready-to-run config holding the best trial's params.
  const json best_params = study["best"]["params"];
  const auto best_run = dir / "best-run";
  result = run_descent("train " + (study_dir / "best.toml").string() + " --out " + best_run.string());
  ASSERT_EQ(result.status, 0) << result.output;
  const json train_summary = json::parse(last_line(result.output));
  EXPECT_EQ(train_summary["epochs"], 3);
  const std::string best_toml = read_text(study_dir / "best.toml");
  EXPECT_EQ(best_toml.find("[tune"), std::string::npos) << best_toml;
  // Retraining the best trial's config reproduces its value (same seed and data; the tiny model's
  // arithmetic does not depend on the thread count).
  EXPECT_NEAR(train_summary["final"]["val_loss"].get<double>(), study["best"]["value"].get<double>(),
              1e-6 * std::abs(study["best"]["value"].get<double>()));

  // Running the command again continues the study: asking for 7 trials adds trials 5 and 6 only.
  result = run_descent("tune " + config.string() + " --dir " + study_dir.string() + " --trials 7");
  ASSERT_EQ(result.status, 0) << result.output;
  const json more = read_json(study_dir / "study.json");
  ASSERT_EQ(more["trials"].size(), 7u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(more["trials"][i], study["trials"][i]);  // untouched
  // Another config in the same folder is refused.
  write_file(dir / "other.toml", study_config(5, 2, "", 300));
  result = run_descent("tune " + (dir / "other.toml").string() + " --dir " + study_dir.string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("another config"), std::string::npos) << result.output;
  std::filesystem::remove_all(dir);
}

TEST(TuneCommand, AFolderThatLostItsDatabaseIsRefusedNotOverwritten) {
  const auto dir = scratch("lostdb");
  const auto config = write_file(dir / "study.toml", study_config(2, 1));
  const auto study_dir = dir / "study";
  ASSERT_EQ(run_descent("tune " + config.string() + " --dir " + study_dir.string()).status, 0);
  const std::string trial0 = read_text(study_dir / "trials" / "0000" / "metrics.jsonl");
  for (const bool empty : {false, true}) {
    if (empty) std::ofstream(study_dir / "study.db", std::ios::trunc).flush();
    else std::filesystem::remove(study_dir / "study.db");
    const auto result = run_descent("tune " + config.string() + " --dir " + study_dir.string() + " --trials 3");
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.output.find("holds trials/ but its study.db is " + std::string(empty ? "empty" : "missing")),
              std::string::npos) << result.output;
    EXPECT_EQ(read_text(study_dir / "trials" / "0000" / "metrics.jsonl"), trial0);
  }
}

TEST(TuneCommand, DamagedRowsInTheDatabaseAreNamedNotRawExceptions) {
  const auto dir = scratch("badrows");
  const auto config = write_file(dir / "study.toml", study_config(1, 1));
  const auto study_dir = dir / "study";
  ASSERT_EQ(run_descent("tune " + config.string() + " --dir " + study_dir.string()).status, 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((study_dir / "study.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE trials SET error = CAST(X'61A362' AS TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_NO_THROW(export_study(study_dir));  // bytes that are not UTF-8 are written as U+FFFD
  ASSERT_EQ(sqlite3_open((study_dir / "study.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE trials SET params = '{'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  try {
    export_study(study_dir);
    FAIL() << "a trial with malformed params exported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("study.db: a row holds malformed JSON"), std::string::npos) << e.what();
  }
}

TEST(TuneCommand, BadConfigsAreNamed) {
  const auto dir = scratch("errors");
  auto result = run_descent("tune " + write_file(dir / "a.toml", tiny_base()).string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("no [tune] table"), std::string::npos) << result.output;
  result = run_descent("tune " + write_file(dir / "b.toml", study_config(2, 1, "trails = 3\n")).string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("config: unknown key tune.trails (did you mean tune.trials?)"), std::string::npos) << result.output;
  std::string bad_key = study_config(2, 1);
  bad_key.replace(bad_key.find("optimizer.momentum"), 18, "optimizer.momentun");
  result = run_descent("tune " + write_file(dir / "c.toml", bad_key).string() + " --dir " + (dir / "s").string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("momentun"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "s"));  // nothing created for a bad config
  std::filesystem::remove_all(dir);
}

TEST(TuneCommand, TwoProcessesShareOneStudy) {
  const auto dir = scratch("two");
  const auto config = write_file(dir / "study.toml", study_config(8, 1, "", 600, 4));
  const auto study_dir = dir / "study";
  const pid_t a = start_descent({"tune", config.string(), "--dir", study_dir.string()}, dir / "a.log");
  const pid_t b = start_descent({"tune", config.string(), "--dir", study_dir.string()}, dir / "b.log");
  ASSERT_EQ(wait_exit_status(a), 0) << read_text(dir / "a.log");
  ASSERT_EQ(wait_exit_status(b), 0) << read_text(dir / "b.log");
  StudyStorage storage(study_dir / "study.db");
  const auto trials = storage.trials();
  ASSERT_EQ(trials.size(), 8u);
  std::set<std::string> workers;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].record.number, std::int64_t(i));
    EXPECT_EQ(trials[i].record.state, search::TrialState::complete);
    workers.insert(trials[i].worker);
  }
  EXPECT_EQ(workers.size(), 2u) << "both processes should have run trials";
  std::filesystem::remove_all(dir);
}

TEST(TuneCommand, AStudyKilledMidwayResumesWithoutLosingFinishedTrials) {
  const auto dir = scratch("kill");
  // Trials of 10 epochs of about 20 ms each (on an idle machine).
  const auto config = write_file(dir / "study.toml", study_config(6, 2, "", 4000, 10));
  const auto study_dir = dir / "study";
  const pid_t pid = start_descent({"tune", config.string(), "--dir", study_dir.string()}, dir / "first.log");
  // Kill when a trial is complete and another has at least half its epochs to go: it cannot finish in the
  // moment between the look and the kill.
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      exited = true;
      break;
    }
    if (!std::filesystem::exists(study_dir / "study.db")) continue;
    StudyStorage storage(study_dir / "study.db");
    std::size_t complete = 0, starting = 0;
    for (const auto& t : storage.trials()) {
      complete += t.record.state == search::TrialState::complete;
      starting += t.state_name() == "running" && t.record.intermediate.size() <= 5;
    }
    if (complete >= 1 && starting >= 1) break;
  }
  ASSERT_FALSE(exited) << "the study ended before it could be killed:\n" << read_text(dir / "first.log");
  ::kill(pid, SIGKILL);
  wait_exit_status(pid);
  // Its workers die with it (PR_SET_PDEATHSIG); wait until they are gone.
  std::vector<StoredTrial> before = StudyStorage(study_dir / "study.db").trials();
  const WorkerIdentity me = WorkerIdentity::current();
  for (const auto& t : before)
    while (t.state_name() == "running" && !worker_is_stale(t.host, t.pid, t.heartbeat, me, unix_now(), 1e9))
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  before = StudyStorage(study_dir / "study.db").trials();
  std::size_t abandoned = 0;
  std::vector<std::pair<std::int64_t, double>> finished;
  for (const auto& t : before) {
    if (t.record.state == search::TrialState::complete) finished.emplace_back(t.record.number, *t.record.value);
    abandoned += t.state_name() == "running";
  }
  ASSERT_GE(finished.size(), 1u) << read_text(dir / "first.log");
  ASSERT_GE(abandoned, 1u);
  // The workers die with the killed process; the rerun re-queues their trials and finishes the study.
  auto result = run_descent("tune " + config.string() + " --dir " + study_dir.string());
  ASSERT_EQ(result.status, 0) << result.output;
  StudyStorage storage(study_dir / "study.db");
  const auto after = storage.trials();
  std::size_t counted = 0, requeued = 0;
  for (const auto& t : after) {
    if (!t.counted) {
      EXPECT_EQ(t.record.state, search::TrialState::failed);
      EXPECT_NE(t.error.find("abandoned"), std::string::npos);
      continue;
    }
    ++counted;
    EXPECT_EQ(t.record.state, search::TrialState::complete) << t.record.number;
    requeued += t.requeued_from.has_value();
  }
  EXPECT_EQ(counted, 6u);
  EXPECT_GE(requeued, 1u);
  for (const auto& [number, value] : finished) {
    EXPECT_EQ(after[std::size_t(number)].record.state, search::TrialState::complete);
    EXPECT_EQ(after[std::size_t(number)].record.value, value);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace descent::tune
