// `descent tune CONFIG`: a hyperparameter study (docs/TUNE.md). The study lives in STUDY_DIR/study.db;
// running the same command again continues it. Worker processes (`descent tune-worker DIR`, started here)
// share the study through SQLite; with one worker the trials run in this process.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "command.hpp"
#include "descent/core/error.hpp"
#include "descent/report/report.hpp"
#include "descent/tune/study.hpp"

namespace descent::cli {
namespace {

using nlohmann::json;

struct TuneOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::string dir;
  std::int64_t trials = 0;
  std::int64_t parallel = -1;
};

// Starts `descent tune-worker DIR --threads N`; the worker dies with this process (PR_SET_PDEATHSIG), so
// killing `descent tune` stops the whole study, and the next run re-queues what was running.
pid_t spawn_worker(const std::filesystem::path& dir, int threads) {
  const pid_t parent = ::getpid();
  const std::string dir_arg = dir.string(), threads_arg = std::to_string(threads);
  const pid_t pid = ::fork();
  DESCENT_CHECK(pid >= 0, "tune: cannot start a worker process");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::execl("/proc/self/exe", "descent", "tune-worker", dir_arg.c_str(), "--threads", threads_arg.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

std::int64_t count_state(const json& study, const std::string& state) {
  std::int64_t n = 0;
  for (const auto& t : study["trials"]) n += t["state"] == state ? 1 : 0;
  return n;
}

void run_tune(const TuneOptions& o) {
  json raw = train::load_toml(o.config);
  for (const auto& assignment : o.overrides) train::apply_override(raw, assignment);
  if (o.trials > 0 && raw.contains("tune")) raw["tune"]["trials"] = o.trials;
  if (o.parallel >= 0 && raw.contains("tune")) raw["tune"]["parallel"] = o.parallel;
  const tune::StudySettings probe = tune::read_study_settings(raw);
  const std::filesystem::path dir = o.dir.empty() ? std::filesystem::path("studies") / probe.name : std::filesystem::path(o.dir);
  const tune::StudySettings settings = tune::create_study(dir, raw);

  const int cores = std::max(1, int(std::thread::hardware_concurrency()));
  std::int64_t workers = settings.parallel > 0 ? settings.parallel : cores;
  workers = std::min(workers, settings.pbt ? settings.pbt->population : settings.trials);
  const int threads = std::max(1, cores / int(workers));
  std::cerr << "study " << settings.name << " in " << dir.string() << ": "
            << (settings.pbt ? std::to_string(settings.pbt->population) + " members x " +
                                   std::to_string(settings.pbt->generations) + " generations (pbt)"
                             : std::to_string(settings.trials) + " trials, sampler " + settings.sampler +
                                   (settings.pruner.empty() ? "" : ", pruner " + settings.pruner))
            << ", " << workers << " worker" << (workers > 1 ? "s" : "") << " x " << threads << " thread"
            << (threads > 1 ? "s" : "") << std::endl;

  if (workers == 1) {
    tune::run_worker(dir, {.threads = threads});
  } else {
    std::vector<pid_t> pids;
    for (std::int64_t i = 0; i < workers; ++i) pids.push_back(spawn_worker(dir, threads));
    for (const pid_t pid : pids) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        exit_status() = 1;
        std::cerr << "descent: worker " << pid << " ended abnormally ("
                  << (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status)) : "status " + std::to_string(WEXITSTATUS(status)))
                  << "); its running trial is re-queued when the study continues\n";
      }
    }
  }

  const json study = tune::export_study(dir);
  json summary = {{"study_dir", dir.string()},
                  {"name", settings.name},
                  {"metric", settings.metric},
                  {"direction", search::to_string(settings.direction)},
                  {"complete", count_state(study, "complete")},
                  {"pruned", count_state(study, "pruned")},
                  {"failed", count_state(study, "failed")},
                  {"running", count_state(study, "running")},
                  {"best", study["best"]}};
  if (!study["best"].is_null()) {
    std::cerr << "best trial " << study["best"]["number"] << ": " << settings.metric << " = " << study["best"]["value"]
              << "\n  params " << study["best"]["params"].dump() << "\n  run folder "
              << (dir / tune::trial_run_dir(study["best"]["number"].get<std::int64_t>())).string()
              << "\n  config " << (dir / "best.toml").string() << "  (descent train " << (dir / "best.toml").string() << ")\n";
    summary["best_config"] = (dir / "best.toml").string();
  } else {
    std::cerr << "no complete trial yet\n";
  }
  try {
    const auto page = report::write_report(dir);
    std::cerr << "report " << page.string() << "\n";
    summary["report"] = page.string();
  } catch (const std::exception& e) {
    std::cerr << "descent: the report was not written: " << e.what() << "\n";
  }
  std::cout << summary.dump() << std::endl;
}

}  // namespace

static RegisterCommand reg_tune{
    "tune", "hyperparameter study of a config with a [tune] table (resumable; last stdout line: JSON summary)",
    [](CLI::App& sub) {
      auto o = std::make_shared<TuneOptions>();
      sub.add_option("config", o->config, "TOML training config with a [tune] table")->required();
      sub.add_option("--set", o->overrides, "override a key: --set tune.trials=50 (repeatable)")->allow_extra_args(false);
      sub.add_option("--dir", o->dir, "study folder (default: studies/<tune.name>); an existing study continues");
      sub.add_option("--trials", o->trials, "trials the study should count (overrides tune.trials)")->check(positive_number());
      sub.add_option("--parallel", o->parallel, "worker processes (0: one per core; overrides tune.parallel)")
          ->check(CLI::NonNegativeNumber);
      sub.callback([o] { run_tune(*o); });
    }};

static RegisterCommand reg_tune_worker{
    "tune-worker", "run trials of an existing study (what `descent tune` starts per worker)", [](CLI::App& sub) {
      auto dir = std::make_shared<std::string>();
      auto threads = std::make_shared<int>(1);
      sub.add_option("dir", *dir, "study folder")->required();
      sub.add_option("--threads", *threads, "compute threads")->check(positive_number());
      sub.group("");  // internal: not listed in --help
      sub.callback([dir, threads] { tune::run_worker(*dir, {.threads = *threads}); });
    }};

}  // namespace descent::cli
