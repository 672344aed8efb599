// The study storage: trial claiming, re-queueing of dead workers' trials, and several processes sharing
// one database.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "descent/core/error.hpp"
#include "descent/tune/storage.hpp"

namespace descent::tune {
namespace {

using nlohmann::json;
using search::TrialState;

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("descent-tune-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

SampleFunction counting_sampler() {
  return [](const std::vector<search::TrialRecord>& history, std::int64_t number) -> std::optional<json> {
    return json{{"x", double(number)}, {"seen", history.size()}};
  };
}

TEST(StudyStorage, ClaimsNumberedTrialsUntilTheTarget) {
  const auto dir = fresh_dir("claim");
  StudyStorage storage(dir / "study.db");
  storage.open_study("s", {{"a", 1}});
  const WorkerIdentity me = WorkerIdentity::current();
  for (int i = 0; i < 3; ++i) {
    auto t = storage.claim(me, 3, 60, counting_sampler());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->record.number, i);
    EXPECT_EQ(t->record.params["seen"], i);  // the sampler saw every earlier trial
    EXPECT_EQ(t->state_name(), "running");
    storage.report(i, 1, 0.5 * i);
    storage.finish(i, i == 1 ? TrialState::pruned : TrialState::complete, i == 1 ? std::nullopt : std::optional<double>(i));
  }
  EXPECT_FALSE(storage.claim(me, 3, 60, counting_sampler()));
  const auto trials = storage.trials();
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[1].record.state, TrialState::pruned);
  EXPECT_EQ(trials[2].record.value, 2.0);
  ASSERT_EQ(trials[2].record.intermediate.size(), 1u);
  EXPECT_EQ(trials[2].record.intermediate[0], std::make_pair(std::int64_t(1), 1.0));
  // An exhausted sampler ends the study early.
  auto none = [](const std::vector<search::TrialRecord>&, std::int64_t) -> std::optional<json> { return std::nullopt; };
  EXPECT_FALSE(storage.claim(me, 10, 60, none));
  std::filesystem::remove_all(dir);
}

TEST(StudyStorage, AStudyFolderHoldsOneStudy) {
  const auto dir = fresh_dir("identity");
  StudyStorage storage(dir / "study.db");
  storage.open_study("s", {{"tune", {{"trials", 5}, {"seed", 1}}}});
  storage.open_study("s", {{"tune", {{"trials", 9}, {"seed", 1}, {"parallel", 2}}}});  // may change
  EXPECT_EQ(storage.config()["tune"]["trials"], 9);
  EXPECT_THROW(storage.open_study("s", {{"tune", {{"trials", 9}, {"seed", 2}}}}), Error);
  std::filesystem::remove_all(dir);
}

TEST(StudyStorage, RequeuesTheTrialOfADeadWorker) {
  const auto dir = fresh_dir("requeue");
  StudyStorage storage(dir / "study.db");
  storage.open_study("s", json::object());
  const WorkerIdentity me = WorkerIdentity::current();
  // A worker that claimed trial 0 and died: a child process that exits at once (and is reaped).
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  const WorkerIdentity dead{me.host, child};
  auto claimed = storage.claim(dead, 2, 60, counting_sampler());
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->record.number, 0);
  // A live worker on another host is judged by its heartbeat only: fresh, so it stays.
  auto other = storage.claim(WorkerIdentity{"elsewhere", 1}, 2, 60, counting_sampler());
  ASSERT_TRUE(other);
  EXPECT_EQ(other->record.number, 1);
  // The next claim re-queues trial 0 as trial 2 (same params) and hands it out, although two trials exist.
  auto again = storage.claim(me, 2, 60, counting_sampler());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->record.number, 2);
  EXPECT_EQ(again->requeued_from, 0);
  EXPECT_EQ(again->record.params, claimed->record.params);
  const auto trials = storage.trials();
  EXPECT_EQ(trials[0].record.state, TrialState::failed);
  EXPECT_FALSE(trials[0].counted);
  EXPECT_NE(trials[0].error.find("abandoned"), std::string::npos);
  EXPECT_EQ(trials[1].state_name(), "running");
  // A heartbeat older than the limit makes the other host's trial stale too.
  EXPECT_EQ(storage.requeue_stale(me, 1e9), 0);
  ::sleep(1);
  storage.heartbeat(2);
  EXPECT_EQ(storage.requeue_stale(me, 0.5), 1);  // trial 1 (trial 2 is this live process's)
  std::filesystem::remove_all(dir);
}

TEST(StudyStorage, ProcessesSharingAStudyNeverDuplicateATrial) {
  const auto dir = fresh_dir("concurrent");
  {
    StudyStorage storage(dir / "study.db");
    storage.open_study("s", json::object());
  }
  constexpr int kProcesses = 4, kTarget = 60;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int status = 0;
      try {
        StudyStorage storage(dir / "study.db");
        const WorkerIdentity me = WorkerIdentity::current();
        while (auto t = storage.claim(me, kTarget, 60, counting_sampler())) {
          ::usleep(2000);  // a trial's work: lets every process get its share
          storage.report(t->record.number, 1, 1.0);
          storage.finish(t->record.number, TrialState::complete, double(::getpid()));
        }
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  StudyStorage storage(dir / "study.db");
  const auto trials = storage.trials();
  ASSERT_EQ(trials.size(), std::size_t(kTarget));
  std::set<double> workers;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].record.number, std::int64_t(i));
    EXPECT_EQ(trials[i].record.state, TrialState::complete);
    EXPECT_EQ(trials[i].record.params["x"], double(i));
    EXPECT_EQ(trials[i].pid, std::int64_t(*trials[i].record.value));  // finished by the process that claimed it
    workers.insert(*trials[i].record.value);
  }
  EXPECT_GE(workers.size(), 2u) << "one process took every trial: the test did not exercise sharing";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace descent::tune
