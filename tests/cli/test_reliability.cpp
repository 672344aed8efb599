// The reliability probe's defects, reproduced against the real program: divergence, Ctrl-C, run names,
// resume from damaged configs and checkpoints, stale temporaries, folder locks, a file-size limit,
// and a killed compare's trials.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/run.hpp"
#include "descent/train/checkpoint.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define DESCENT_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DESCENT_UNDER_ASAN 1
#endif
#endif

namespace fs = std::filesystem;
using descent::testing::last_line;
using descent::testing::run_descent;
using nlohmann::json;

namespace {

const std::string kDescent = std::string(DESCENT_BINARY_DIR) + "/descent";

struct Scratch {
  fs::path dir;
  explicit Scratch(const std::string& name) : dir(fs::temp_directory_path() / ("descent-rel-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

// A small two_moons run; `checkpoint` and `trainer` add lines to those tables.
std::string config_text(const std::string& optimizer, int epochs, const std::string& checkpoint = "",
                        const std::string& trainer = "") {
  return "seed = 3\n[data]\ndataset = \"two_moons\"\nsamples = 600\nbatch_size = 16\n[model]\nhidden = [16]\n"
         "[optimizer]\n" + optimizer + "\n[trainer]\nepochs = " + std::to_string(epochs) +
         "\nprogress = \"none\"\n" + trainer + "[trainer.checkpoint]\nmonitor = \"val_accuracy\"\n" + checkpoint;
}

fs::path write(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// Two setups (a: SGD, b: Adam) of a long two_moons run, one seed (3), `parallel` trials at once.
std::string compare_text(int parallel) {
  return config_text("name = \"sgd\"\nlr = 0.1", 400) + "[compare]\nseeds = 1\nparallel = " + std::to_string(parallel) +
         "\n[[compare.setups]]\nname = \"a\"\noptimizer = { name = \"sgd\", lr = 0.1 }\n"
         "[[compare.setups]]\nname = \"b\"\noptimizer = { name = \"adam\", lr = 0.01 }\n";
}

// Waits up to 20 s for a file another process is to write; whether it came.
bool wait_for_file(const fs::path& path) {
  for (int i = 0; i < 4000 && !fs::exists(path); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return fs::exists(path);
}

json summary_of(const std::string& output) { return json::parse(last_line(output), nullptr, false); }

// Starts `descent ARGS...` with its output in `log`; `limit` > 0 sets `resource` (RLIMIT_FSIZE, RLIMIT_AS)
// in the child.
pid_t spawn(const std::vector<std::string>& args, const fs::path& log, int resource = RLIMIT_FSIZE, rlim_t limit = 0) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (limit > 0) {
      const rlimit bound{limit, limit};
      ::setrlimit(resource, &bound);
    }
    std::vector<char*> argv{const_cast<char*>(kDescent.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int exit_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_all(const fs::path& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

bool same_weights(const fs::path& a, const fs::path& b) {
  const auto x = descent::train::load_checkpoint(a), y = descent::train::load_checkpoint(b);
  if (x.step != y.step) return false;
  for (const auto& [name, tensor] : x.state.tensors) {
    if (!name.starts_with("model.") && !name.starts_with("optimizer.")) continue;
    const auto it = y.state.tensors.find(name);
    if (it == y.state.tensors.end() || it->second.numel() != tensor.numel() ||
        std::memcmp(tensor.raw_data(), it->second.raw_data(), std::size_t(tensor.numel()) * descent::dtype_size(tensor.dtype())) != 0)
      return false;
  }
  return true;
}

}  // namespace

TEST(Reliability, AnInfiniteLrIsRefusedNamingTheOption) {
  Scratch s("inf");
  const auto cfg = write(s.dir / "c.toml", config_text("name = \"sgd\"\nlr = inf", 1));
  const auto result = run_descent("train " + cfg.string() + " --out " + (s.dir / "r").string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("config: optimizer: sgd: lr = inf: expected a finite lr >= 0"), std::string::npos) << result.output;
}

TEST(Reliability, ADivergedRunStopsSaysSoAndScoresNoAccuracy) {
  Scratch s("diverged");
  const auto cfg = write(s.dir / "c.toml", config_text("name = \"sgd\"\nlr = 1e30", 3));
  const auto result = run_descent("train " + cfg.string() + " --out " + (s.dir / "r").string());
  EXPECT_EQ(result.status, 3) << result.output;
  EXPECT_NE(result.output.find("warning: the run diverged"), std::string::npos) << result.output;
  const json summary = summary_of(result.output);
  ASSERT_TRUE(summary.is_object()) << result.output;
  EXPECT_EQ(summary["stopped"], "diverged");
  EXPECT_LT(summary["steps"].get<int>(), 3 * 30);  // it stopped early (30 steps an epoch)
  EXPECT_TRUE(summary.contains("best"));           // with null value: no finite accuracy improved
  EXPECT_EQ(summary["best"]["monitor"], "val_accuracy");
  EXPECT_NE(summary["test"]["test_accuracy"], 1.0) << summary.dump();
}

TEST(Reliability, RunNamesCannotLeaveTheRunsFolder) {
  Scratch s("names");
  const auto cfg = write(s.dir / "c.toml", "name = \"../../escape\"\n" + config_text("name = \"sgd\"\nlr = 0.1", 1));
  const auto result = run_descent("train " + cfg.string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("config: name = \"../../escape\": expected 1 to 64 letters"), std::string::npos) << result.output;
}

TEST(Reliability, CtrlCWritesACheckpointAndTheResumeEndsWithTheSameBits) {
  Scratch s("sigint");
  const auto cfg = write(s.dir / "c.toml", config_text("name = \"adam\"\nlr = 0.01", 40));
  ASSERT_EQ(run_descent("train " + cfg.string() + " --out " + (s.dir / "reference").string()).status, 0);
  const auto run = s.dir / "interrupted";
  const pid_t pid = spawn({"train", cfg.string(), "--out", run.string()}, s.dir / "log");
  // Interrupt in the middle of an epoch, once the first epoch has ended.
  wait_for_file(run / "checkpoints" / "last.safetensors");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ::kill(pid, SIGINT);
  const int code = exit_code(pid);
  const std::string log = read_all(s.dir / "log");
  ASSERT_EQ(code, 130) << log;
  EXPECT_NE(log.find("descent: interrupted by Interrupt after step"), std::string::npos) << log;
  EXPECT_NE(log.find("continue with `descent resume"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(run / "summary.json"));
  const auto resumed = run_descent("resume " + run.string());
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_TRUE(same_weights(s.dir / "reference" / "checkpoints" / "last.safetensors", run / "checkpoints" / "last.safetensors"));
}

TEST(Reliability, ResumeRefusesAConfigThatDiffersFromTheCheckpointsNamingTheKeys) {
  Scratch s("config");
  const auto cfg = write(s.dir / "c.toml", config_text("name = \"sgd\"\nlr = 0.1", 2));
  const auto run = s.dir / "r";
  ASSERT_EQ(run_descent("train " + cfg.string() + " --out " + run.string()).status, 0);
  std::string text = read_all(run / "config.toml");
  const auto at = text.find("epochs = 2");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 10, "epochs = 5");
  write(run / "config.toml", text);
  const auto result = run_descent("resume " + run.string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("config.toml differs from the config its checkpoints were trained with: trainer.epochs (5 in config.toml, 2 in the checkpoint)"),
            std::string::npos) << result.output;
}

TEST(Reliability, ACheckpointThatDoesNotFitIsSkippedForTheNextOne) {
  Scratch s("fallback");
  const auto cfg = write(s.dir / "c.toml", config_text("name = \"adam\"\nlr = 0.01", 2, "every_n_steps = 10\nkeep = 3\n"));
  const auto run = s.dir / "r";
  ASSERT_EQ(run_descent("train " + cfg.string() + " --out " + run.string()).status, 0);
  // Rewrite the newest checkpoint without one optimizer buffer tensor, with a valid checksum.
  const auto last = run / "checkpoints" / "last.safetensors";
  auto checkpoint = descent::train::load_checkpoint(last);
  checkpoint.state.tensors.erase("optimizer.0.exp_avg");
  descent::train::StringMap metadata = checkpoint.metadata;
  metadata.erase("format");
  metadata.erase("step");
  metadata.erase("epoch");
  descent::train::save_checkpoint(last, checkpoint.state, metadata);
  fs::remove(run / "checkpoints" / "best.safetensors");
  const auto result = run_descent("resume " + run.string());
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("skipping"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("'0.exp_avg' is missing"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("from step-"), std::string::npos) << result.output;
}

TEST(Reliability, AJunkCheckpointIsRefusedWithoutReadingIt) {
  Scratch s("junk");
  const auto cfg = write(s.dir / "c.toml", config_text("name = \"sgd\"\nlr = 0.1", 1));
  const auto run = s.dir / "r";
  ASSERT_EQ(run_descent("train " + cfg.string() + " --out " + run.string()).status, 0);
  const auto junk = run / "checkpoints" / "step-000009999.safetensors";
  { std::ofstream(junk) << "junk"; }
  fs::resize_file(junk, std::uintmax_t(8) << 30);  // sparse: 8 GiB that take no disk
  const auto result = run_descent("eval " + run.string() + " --checkpoint " + junk.string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("header length"), std::string::npos) << result.output;
  // Under a 4 GiB address-space limit a whole-file read would fail; the header check refuses it first.
  // (AddressSanitizer reserves terabytes of address space for its shadow, so it runs without the limit.)
#ifdef DESCENT_UNDER_ASAN
  const int code = exit_code(spawn({"resume", run.string()}, s.dir / "log"));
#else
  const int code = exit_code(spawn({"resume", run.string()}, s.dir / "log", RLIMIT_AS, rlim_t(4) << 30));
#endif
  const std::string log = read_all(s.dir / "log");
  EXPECT_EQ(code, 0) << log;
  EXPECT_NE(log.find("skipping safetensors: " + junk.string() + ": header length"), std::string::npos) << log;
}

TEST(Reliability, ResumeRemovesTheTemporariesOfKilledWriters) {
  Scratch s("tmp");
  const auto cfg = write(s.dir / "c.toml", config_text("name = \"sgd\"\nlr = 0.1", 1));
  const auto run = s.dir / "r";
  ASSERT_EQ(run_descent("train " + cfg.string() + " --out " + run.string()).status, 0);
  // pid 2^22 + 1 is above Linux's pid_max limit, so no process holds it.
  const auto stale = run / "checkpoints" / ".step-000000051.safetensors.tmp4194305";
  const auto live = run / "checkpoints" / (".last.safetensors.tmp" + std::to_string(::getpid()));
  write(stale, "partial");
  write(live, "partial");
  ASSERT_EQ(run_descent("resume " + run.string()).status, 0);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));  // its writer (this test) still runs
}

TEST(Reliability, ASecondProcessOnARunFolderRefuses) {
  Scratch s("lock");
  const auto cfg = write(s.dir / "c.toml", config_text("name = \"sgd\"\nlr = 0.1", 200));
  const auto run = s.dir / "r";
  const pid_t pid = spawn({"train", cfg.string(), "--out", run.string()}, s.dir / "log");
  wait_for_file(run / "metrics.jsonl");
  const auto second = run_descent("resume " + run.string());
  ::kill(pid, SIGKILL);
  exit_code(pid);
  EXPECT_EQ(second.status, 1);
  EXPECT_NE(second.output.find("run folder " + run.string() + " is in use by another descent process (pid " + std::to_string(pid) + ")"),
            std::string::npos) << second.output;
}

TEST(Reliability, AFileSizeLimitStopsTheRunWithTheFileNamedAndResumeLosesNothing) {
  Scratch s("fsize");
  // Every step logged: the metrics log fills the 24 KiB limit before the checkpoints do.
  const auto cfg = write(s.dir / "c.toml", config_text("name = \"sgd\"\nlr = 0.1", 6, "every_n_steps = 20\n", "log_every_steps = 1\n"));
  const auto run = s.dir / "r";
  ASSERT_EQ(run_descent("train " + cfg.string() + " --out " + (s.dir / "reference").string()).status, 0);
  const int code = exit_code(spawn({"train", cfg.string(), "--out", run.string()}, s.dir / "log", RLIMIT_FSIZE, 24 << 10));
  const std::string log = read_all(s.dir / "log");
  EXPECT_EQ(code, 1) << log;
  EXPECT_NE(log.find("cannot write"), std::string::npos) << log;
  EXPECT_NE(log.find("File too large"), std::string::npos) << log;
  const auto resumed = run_descent("resume " + run.string());
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  // Every step and epoch record is there once, as in the run that had room.
  auto records = [](const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::vector<std::string> out;
    while (std::getline(in, line)) {
      json record = json::parse(line);
      record.erase("step_time_ms");
      record.erase("examples_per_s");
      for (const char* timing : {"train_time_s", "elapsed_s", "peak_rss_mb"}) record.erase(timing);
      out.push_back(record.dump());
    }
    return out;
  };
  EXPECT_EQ(records(run / "metrics.jsonl"), records(s.dir / "reference" / "metrics.jsonl"));
}

TEST(Reliability, AKilledCompareTakesItsTrialsWithIt) {
  Scratch s("compare");
  const auto cfg = write(s.dir / "c.toml", compare_text(2));
  const auto out = s.dir / "cmp";
  const pid_t pid = spawn({"compare", cfg.string(), "--out", out.string()}, s.dir / "log");
  // Both trials are under way (on a loaded machine either may start first).
  const bool started = wait_for_file(out / "trials" / "a-seed3" / "metrics.jsonl") &&
                       wait_for_file(out / "trials" / "b-seed3" / "metrics.jsonl");
  if (!started) {
    ::kill(pid, SIGKILL);
    exit_code(pid);
  }
  ASSERT_TRUE(started) << read_all(s.dir / "log");
  ::kill(pid, SIGKILL);
  exit_code(pid);
  // Within a few seconds no process is writing the trial folders any more: their logs stop growing.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto size = fs::file_size(out / "trials" / "a-seed3" / "metrics.jsonl");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(fs::file_size(out / "trials" / "a-seed3" / "metrics.jsonl"), size) << "a trial outlived its compare";
  // The trials stopped on SIGTERM and wrote a checkpoint of where they were, for the next compare.
  for (const char* trial : {"a-seed3", "b-seed3"}) {
    const std::string log = read_all(out / "trials" / trial / "trial.log");
    EXPECT_NE(log.find("interrupted by Terminated after step"), std::string::npos) << trial << ":\n" << log;
  }
}

TEST(Reliability, ASecondCompareOnOneFolderRefuses) {
  Scratch s("compare-lock");
  const auto cfg = write(s.dir / "c.toml", compare_text(1));
  const auto out = s.dir / "cmp";
  const pid_t pid = spawn({"compare", cfg.string(), "--out", out.string()}, s.dir / "log");
  wait_for_file(out / "trials" / "a-seed3" / "metrics.jsonl");
  const auto second = run_descent("compare " + cfg.string() + " --out " + out.string());
  ::kill(pid, SIGKILL);
  exit_code(pid);
  EXPECT_EQ(second.status, 1);
  EXPECT_NE(second.output.find("comparison folder " + out.string() + " is in use by another descent process (pid " +
                               std::to_string(pid) + ")"),
            std::string::npos)
      << second.output;
}
