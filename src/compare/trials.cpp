#include "descent/compare/trials.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <sstream>

#include "descent/core/error.hpp"
#include "descent/train/config.hpp"
#include "descent/train/safetensors.hpp"


namespace descent::compare {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

void write_record(const std::filesystem::path& dir, const std::string& status, const TrialOutcome& o) {
  json record = {{"status", status}, {"wall_time_s", o.wall_time_s}, {"cpu_time_s", o.cpu_time_s}, {"peak_rss_mb", o.peak_rss_mb}};
  if (!o.error.empty()) record["error"] = o.error;
  train::write_file_atomic(dir / "trial.json", record.dump(2) + "\n");
}

// The resolved training config without the keys that may differ between runs of the same trial.
json comparable(const json& raw) {
  json resolved = train::parse_config(raw).resolved;
  if (resolved.contains("trainer")) {
    resolved["trainer"].erase("threads");
    resolved["trainer"].erase("progress");
  }
  return resolved;
}

bool started(const std::filesystem::path& dir) { return std::filesystem::exists(dir / "config.toml"); }

void check_same_config(const TrialSpec& trial) {
  if (!started(trial.dir)) return;
  const json existing = comparable(train::load_toml(trial.dir / "config.toml"));
  DESCENT_CHECK(existing == comparable(trial.config), "trial folder ", trial.dir.string(),
                " holds a run of a different config than this comparison's ", trial.setup, " seed ", trial.seed,
                ": give the comparison another --out folder (or delete that trial folder to rerun it)");
}

// The last "descent: error: ..." line the trial printed.
std::string printed_error(const std::filesystem::path& log_path) {
  std::istringstream in(std::filesystem::exists(log_path) ? train::read_file_bytes(log_path) : std::string());
  std::string line, error;
  while (std::getline(in, line))
    if (line.starts_with("descent: error: ")) error = line.substr(16);
  return error;
}

struct Running {
  std::size_t index = 0;
  Clock::time_point start;
};

pid_t spawn_trial(const TrialSpec& trial, const std::filesystem::path& program) {
  std::vector<std::string> args{program.string()};
  if (started(trial.dir)) {
    args.insert(args.end(), {"resume", trial.dir.string(), "--progress", "log"});
  } else {
    train::write_file_atomic(trial.dir / "trial.toml", train::to_toml(trial.config));
    args.insert(args.end(), {"train", (trial.dir / "trial.toml").string(), "--out", trial.dir.string(), "--progress", "log"});
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // fork + exec rather than posix_spawn, to set a parent-death signal: a killed `descent compare` takes its
  // trials with it (SIGTERM, so each writes a checkpoint and stops), and a rerun resumes them. Between fork
  // and exec the child makes only async-signal-safe calls.
  const std::string log_path = (trial.dir / "trial.log").string();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  DESCENT_CHECK(pid >= 0, "compare: cannot start ", program.string(), " for trial ", trial.dir.string(), ": ",
                std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string describe_end(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "ended abnormally";
}

// Whether the run folder's metrics.jsonl holds an epoch record, which the comparison reads.
bool has_epoch_record(const std::filesystem::path& dir) {
  const auto path = dir / "metrics.jsonl";
  if (!std::filesystem::exists(path)) return false;
  std::istringstream in(train::read_file_bytes(path));
  std::string line;
  while (std::getline(in, line)) {
    const json record = json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.is_object() && record.value("kind", "") == "epoch") return true;
  }
  return false;
}

}  // namespace

TrialOutcome read_trial_record(const std::filesystem::path& dir) {
  TrialOutcome o;
  o.status = "missing";
  if (!std::filesystem::exists(dir / "trial.json")) return o;
  const json record = json::parse(train::read_file_bytes(dir / "trial.json"), nullptr, false);
  if (record.is_discarded() || !record.is_object()) return o;
  o.status = record.value("status", "missing");
  o.error = record.value("error", "");
  o.wall_time_s = record.value("wall_time_s", 0.0);
  o.cpu_time_s = record.value("cpu_time_s", 0.0);
  o.peak_rss_mb = record.value("peak_rss_mb", 0.0);
  return o;
}

std::vector<TrialOutcome> run_trials(const std::vector<TrialSpec>& trials, const std::filesystem::path& program,
                                     int parallel, std::FILE* log) {
  std::vector<TrialOutcome> outcomes(trials.size());
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    std::filesystem::create_directories(trials[i].dir);
    check_same_config(trials[i]);
    TrialOutcome previous = read_trial_record(trials[i].dir);
    if (previous.status == "ok" && std::filesystem::exists(trials[i].dir / "summary.json")) {
      if (has_epoch_record(trials[i].dir)) {
        previous.reused = true;
        outcomes[i] = previous;
        continue;
      }
      // Finished, but its results are unreadable: keep the folder aside and train the trial again.
      const auto aside = trials[i].dir.string() + ".unreadable-" + std::to_string(::time(nullptr));
      std::filesystem::rename(trials[i].dir, aside);
      std::filesystem::create_directories(trials[i].dir);
      std::fprintf(log, "compare: %s seed %llu finished but its metrics.jsonl has no epoch record; moved to %s and rerun\n",
                   trials[i].setup.c_str(), static_cast<unsigned long long>(trials[i].seed), aside.c_str());
      previous = TrialOutcome{};
      previous.status = "missing";
    }
    // Time and memory of earlier sessions of an interrupted or failed trial still count.
    outcomes[i].wall_time_s = previous.status == "missing" ? 0.0 : previous.wall_time_s;
    outcomes[i].peak_rss_mb = previous.status == "missing" ? 0.0 : previous.peak_rss_mb;
    outcomes[i].cpu_time_s = previous.status == "missing" ? 0.0 : previous.cpu_time_s;
    pending.push_back(i);
  }
  const std::size_t reused = trials.size() - pending.size();
  if (reused > 0) std::fprintf(log, "compare: %zu of %zu trials already finished in this folder, reused\n", reused, trials.size());

  std::map<pid_t, Running> running;
  std::size_t next = 0, finished = reused;
  while (next < pending.size() || !running.empty()) {
    while (next < pending.size() && running.size() < std::size_t(std::max(1, parallel))) {
      const std::size_t index = pending[next++];
      const TrialSpec& trial = trials[index];
      const bool resuming = started(trial.dir);
      write_record(trial.dir, "running", outcomes[index]);
      running[spawn_trial(trial, program)] = {index, Clock::now()};
      std::fprintf(log, "compare: %s %s seed %llu\n", resuming ? "resuming" : "starting", trial.setup.c_str(),
                   static_cast<unsigned long long>(trial.seed));
      std::fflush(log);
    }
    int status = 0;
    rusage usage{};
    const pid_t pid = wait4(-1, &status, 0, &usage);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw Error(std::string("compare: waiting for the trials failed: ") + std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;  // not a trial
    const Running r = it->second;
    running.erase(it);
    const TrialSpec& trial = trials[r.index];
    TrialOutcome& o = outcomes[r.index];
    o.wall_time_s += std::chrono::duration<double>(Clock::now() - r.start).count();
    o.peak_rss_mb = std::max(o.peak_rss_mb, double(usage.ru_maxrss) / 1024.0);  // Linux reports KiB
    o.cpu_time_s += double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + 1e-6 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
    // Status 3 is a diverged run: a finished trial with a result (its accuracy counts NaN outputs wrong).
    const bool exited_ok = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
    const bool ok = exited_ok && std::filesystem::exists(trial.dir / "summary.json");
    o.status = ok ? "ok" : "failed";
    if (!ok) {
      o.error = printed_error(trial.dir / "trial.log");
      if (o.error.empty()) o.error = "the trial's process " + describe_end(status);
    } else {
      o.error.clear();
    }
    write_record(trial.dir, o.status, o);
    ++finished;
    std::fprintf(log, "compare: [%zu/%zu] %s seed %llu %s (%.1f s, %.0f MB)%s%s\n", finished, trials.size(),
                 trial.setup.c_str(), static_cast<unsigned long long>(trial.seed), ok ? "done" : "FAILED", o.wall_time_s,
                 o.peak_rss_mb, ok ? "" : ": ", o.error.c_str());
    std::fflush(log);
  }
  return outcomes;
}

}  // namespace descent::compare
