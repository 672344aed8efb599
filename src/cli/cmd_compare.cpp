// `descent compare CONFIG`: optimizer setups x seeds, paired by seed, trials run in parallel as child
// processes; prints the summary and the tests against the baseline, writes comparison.json and
// comparison.csv (docs/FORMATS.md) and the HTML report. See docs/COMPARE.md.
#include <ctime>
#include <iostream>
#include <thread>

#include "command.hpp"
#include "descent/train/folder_lock.hpp"
#include "descent/compare/comparison.hpp"
#include "descent/compare/config.hpp"
#include "descent/compare/trials.hpp"
#include "descent/core/error.hpp"
#include "descent/report/report.hpp"
#include "descent/train/config.hpp"
#include "descent/train/run.hpp"
#include "descent/train/safetensors.hpp"

namespace descent::cli {
namespace {

struct CompareOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  int parallel = 0;
};

std::filesystem::path default_compare_dir(const std::string& name) {
  return std::filesystem::path("runs") / (name + "-" + train::utc_stamp());
}

void run_compare(const CompareOptions& o) {
  std::vector<std::string> overrides = o.overrides;
  if (o.parallel > 0) overrides.push_back("compare.parallel=" + std::to_string(o.parallel));
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  const compare::CompareConfig config = compare::load_compare_config(o.config, overrides, cores);
  const std::filesystem::path dir = o.out.empty() ? default_compare_dir(config.name) : std::filesystem::path(o.out);
  const train::FolderLock lock(dir, "comparison folder");
  std::filesystem::create_directories(dir / "trials");
  nlohmann::json saved = config.base;
  saved["compare"] = config.resolved;
  train::write_file_atomic(dir / "compare.toml", train::to_toml(saved));

  // Seed-major order: an interrupted comparison has whole pairs first.
  std::vector<compare::TrialSpec> specs;
  for (const auto seed : config.seeds)
    for (const auto& setup : config.setups)
      specs.push_back({setup.name, seed, dir / "trials" / (setup.name + "-seed" + std::to_string(seed)),
                       compare::trial_config(config, setup, seed)});
  std::fprintf(stderr, "compare: %zu setups x %zu seeds in %s, %d at a time with %d thread%s each\n", config.setups.size(),
               config.seeds.size(), dir.string().c_str(), config.parallel, config.threads, config.threads == 1 ? "" : "s");
  const auto program = std::filesystem::read_symlink("/proc/self/exe");
  const auto outcomes = compare::run_trials(specs, program, config.parallel, stderr);

  std::vector<compare::TrialResult> results;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    results.push_back(compare::read_trial_result(config, specs[i], outcomes[i], dir));
    failed += results.back().outcome.status != "ok";
  }
  const nlohmann::json comparison = compare::build_comparison(config, results);
  train::write_file_atomic(dir / "comparison.json", comparison.dump(2) + "\n");
  train::write_file_atomic(dir / "comparison.csv", compare::comparison_csv(comparison));

  std::cout << "\n" << compare::comparison_table(comparison) << "\n";
  if (failed > 0)
    std::cout << failed << " of " << specs.size() << " trials failed (their errors are in comparison.json and each trial's trial.log)\n";
  std::cout << "comparison: " << (dir / "comparison.json").string() << "\n";
  try {
    std::cout << "report: " << report::write_report(dir).string() << std::endl;
  } catch (const Error& e) {
    std::cout << "report: not written: " << e.what() << std::endl;
  }
  if (failed == specs.size()) exit_status() = 1;
}

}  // namespace

static RegisterCommand reg_compare{
    "compare", "compare optimizer setups over seeds (paired), with tests against a baseline", [](CLI::App& sub) {
      auto o = std::make_shared<CompareOptions>();
      sub.add_option("config", o->config, "TOML config: a training config plus [compare] (docs/COMPARE.md)")->required();
      sub.add_option("--set", o->overrides, "override a key: --set trainer.epochs=3, --set compare.seeds=5 (repeatable)")
          ->allow_extra_args(false);
      sub.add_option("--out", o->out, "comparison folder (default: runs/<name>-<date-time>); an existing one reuses its finished trials");
      sub.add_option("--parallel", o->parallel, "trials at once (default: compare.parallel, or the cores)")->check(positive_number());
      sub.callback([o] { run_compare(*o); });
    }};

}  // namespace descent::cli
