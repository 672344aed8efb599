// Exact resume under SIGKILL: the real `descent train` is killed at random steps (three times, resuming in
// between), then resumed to the end; its final parameters must equal an uninterrupted run's bit for bit,
// and its metrics log must hold every logged step once, with the same losses.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "descent/train/checkpoint.hpp"
#include "temp_folder.hpp"

using namespace descent;
using namespace descent::train;

namespace {

const std::filesystem::path kBinary = std::filesystem::path(DESCENT_BINARY_DIR) / "descent";

pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// The last logged step in metrics.jsonl (0 when none yet).
std::int64_t last_logged_step(const std::filesystem::path& metrics) {
  std::ifstream in(metrics);
  std::string line;
  std::int64_t step = 0;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.value("kind", "") == "step") step = std::max(step, record.value("step", std::int64_t(0)));
  }
  return step;
}

std::map<std::int64_t, double> step_losses(const std::filesystem::path& metrics, std::int64_t* duplicates) {
  std::map<std::int64_t, double> out;
  std::ifstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    if (record["kind"] != "step") continue;
    if (!out.emplace(record["step"].get<std::int64_t>(), record["loss"].get<double>()).second) ++*duplicates;
  }
  return out;
}

const char* kConfig = R"(
seed = 11
[data]
dataset = "two_moons"
samples = 3000
noise = 0.2
batch_size = 16
prefetch = 2
[model]
hidden = [32, 32]
dropout = 0.1
[optimizer]
name = "adamw"
lr = 0.005
[schedule]
name = "warmup_cosine"
warmup_steps = 20
total_steps = "auto"
[transforms]
max_norm = 1.0
[trainer]
epochs = 4
log_every_steps = 5
progress = "none"
[trainer.checkpoint]
every_n_steps = 9
keep = 2
)";

}  // namespace

TEST(KillResume, SigkilledRunsResumeToTheSameBits) {
  ASSERT_TRUE(std::filesystem::exists(kBinary)) << kBinary << " is missing: build the `descent` target first";
  TempFolder folder;
  const auto config = folder.path() / "config.toml";
  std::ofstream(config) << kConfig;
  const auto reference = folder.path() / "reference";
  const auto interrupted = folder.path() / "interrupted";
  const auto log = folder.path() / "log.txt";

  const int status = wait_for(spawn({kBinary.string(), "train", config.string(), "--out", reference.string()}, log));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << std::ifstream(log).rdbuf();
  const Checkpoint expected = load_checkpoint(reference / "checkpoints" / "last.safetensors");
  const std::int64_t total_steps = expected.step;
  ASSERT_GT(total_steps, 400);

  std::mt19937_64 random(std::random_device{}());
  std::vector<std::int64_t> kill_steps;
  for (int i = 0; i < 3; ++i) kill_steps.push_back(std::int64_t(random() % std::uint64_t(total_steps - 40)) + 10);
  std::sort(kill_steps.begin(), kill_steps.end());
  std::string kill_list;
  for (auto s : kill_steps) kill_list += std::to_string(s) + " ";
  RecordProperty("kill_steps", kill_list);

  int kills = 0;
  for (std::size_t i = 0; i < kill_steps.size(); ++i) {
    const std::vector<std::string> args = i == 0 ? std::vector<std::string>{kBinary.string(), "train", config.string(), "--out", interrupted.string()}
                                                 : std::vector<std::string>{kBinary.string(), "resume", interrupted.string()};
    const pid_t pid = spawn(args, log);
    // Kill once the run has logged the chosen step (or a later one: the log is written every 5 steps).
    while (last_logged_step(interrupted / "metrics.jsonl") < kill_steps[i]) {
      int child = 0;
      if (::waitpid(pid, &child, WNOHANG) == pid) FAIL() << "the run ended before step " << kill_steps[i] << ":\n" << std::ifstream(log).rdbuf();
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    ::kill(pid, SIGKILL);
    const int killed = wait_for(pid);
    kills += WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL;
  }
  EXPECT_EQ(kills, 3) << "kill steps " << kill_list;

  const int resumed = wait_for(spawn({kBinary.string(), "resume", interrupted.string()}, log));
  std::stringstream output;
  output << std::ifstream(log).rdbuf();
  ASSERT_TRUE(WIFEXITED(resumed) && WEXITSTATUS(resumed) == 0) << output.str();
  EXPECT_NE(output.str().find("from step-"), std::string::npos) << "no resume started from a step checkpoint:\n" << output.str();

  const Checkpoint actual = load_checkpoint(interrupted / "checkpoints" / "last.safetensors");
  EXPECT_EQ(actual.step, total_steps);
  std::size_t compared = 0;
  for (const auto& [name, tensor] : expected.state.tensors) {
    if (!name.starts_with("model.") && !name.starts_with("optimizer.")) continue;
    ASSERT_TRUE(actual.state.tensors.contains(name)) << name;
    const Tensor& other = actual.state.tensors.at(name);
    ASSERT_EQ(tensor.numel(), other.numel()) << name;
    EXPECT_EQ(0, std::memcmp(tensor.raw_data(), other.raw_data(), std::size_t(tensor.numel()) * dtype_size(tensor.dtype())))
        << name << " differs after kills at steps " << kill_list;
    ++compared;
  }
  EXPECT_GE(compared, 6u);

  std::int64_t duplicates_expected = 0, duplicates_actual = 0;
  const auto losses_expected = step_losses(reference / "metrics.jsonl", &duplicates_expected);
  const auto losses_actual = step_losses(interrupted / "metrics.jsonl", &duplicates_actual);
  EXPECT_EQ(duplicates_actual, 0);
  EXPECT_EQ(losses_actual, losses_expected);
}
