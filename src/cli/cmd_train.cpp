// `descent train CONFIG`: trains a TOML config into a run folder; the last stdout line is a JSON summary.
// `descent bench fit`: the trainer's per-step overhead against a plain loop over the same model and data.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "descent/core/interrupt.hpp"
#include "descent/report/report.hpp"
#include "descent/autograd/node.hpp"
#include "descent/nn/loss.hpp"
#include "descent/train/callbacks.hpp"
#include "descent/train/run.hpp"

namespace descent::cli {
namespace {

struct TrainOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  std::string progress;
};

void run_train(const TrainOptions& o) {
  install_stop_handlers();  // Ctrl-C / SIGTERM: checkpoint where training is and exit 130 / 143
  const train::Config config = train::load_config(o.config, o.overrides);
  const std::filesystem::path run_dir = o.out.empty() ? train::default_run_dir(config, o.config) : std::filesystem::path(o.out);
  train::RunOptions options;
  if (!o.progress.empty()) options.progress = o.progress;
  const auto summary = train::train_run(config, run_dir, options);
  std::cerr << "run folder: " << run_dir.string() << "\n";
  report::try_write_report(run_dir, std::cerr);
  report_run_outcome(summary.dump());
  std::cout << summary.dump() << std::endl;
}

// The seeds' model (MLP 1-64-64-1, MSE, SGD lr 0.01 momentum 0.9, batch 32) on linear_regression.
train::Config seeds_config() {
  return train::parse_config(train::parse_toml(R"(
    [data]
    dataset = "linear_regression"
    samples = 1000
    batch_size = 32
    prefetch = 0
    [model]
    type = "mlp"
    hidden = [64, 64]
    [optimizer]
    name = "sgd"
    lr = 0.01
    momentum = 0.9
  )", "bench fit"));
}

// Marks the start of fit's steps (added last, so it runs after the other callbacks' on_fit_begin) or their
// end (added first, so it runs before the metrics log exports its CSV files): fixed per-run file work is
// not part of a step's cost.
class Stopwatch : public train::Callback {
 public:
  explicit Stopwatch(bool start) : start_(start) {}
  std::string name() const override { return start_ ? "stopwatch_start" : "stopwatch_end"; }
  void on_fit_begin(train::Trainer&) override {
    if (start_) time = std::chrono::steady_clock::now();
  }
  void on_fit_end(train::Trainer&) override {
    if (!start_) time = std::chrono::steady_clock::now();
  }
  std::chrono::steady_clock::time_point time;

 private:
  bool start_;
};

double ms_per_step(std::chrono::steady_clock::duration elapsed, std::int64_t steps) {
  return std::chrono::duration<double, std::milli>(elapsed).count() / double(steps);
}

void run_fit_bench(std::int64_t epochs, int rounds) {
  const train::Config config = seeds_config();
  const auto splits = train::build_datasets(config.data, config.seed);
  const auto loader = train::make_train_loader(splits, config.data, config.seed);
  const std::int64_t steps = epochs * loader.batches_per_epoch();
  const auto scratch = std::filesystem::temp_directory_path() / ("descent-bench-fit-" + std::to_string(::getpid()));
  std::vector<double> raw, fit;
  for (int round = 0; round < rounds; ++round) {
    {  // the plain loop of src/cli/cmd_bench_step.cpp, over the loader
      auto model = train::build_model(config.model, splits.sample_shape, 1, config.seed);
      auto optimizer = train::build_optimizer(config.optimizer, *model);
      const auto start = std::chrono::steady_clock::now();
      for (std::int64_t epoch = 0; epoch < epochs; ++epoch)
        for (auto& batch : loader.epoch(epoch)) {
          optimizer->zero_grad();
          Tensor loss = nn::mse_loss(model->forward(batch.inputs), batch.targets);
          autograd::backward(loss);
          optimizer->step();
        }
      raw.push_back(ms_per_step(std::chrono::steady_clock::now() - start, steps));
    }
    {  // Trainer::fit with the metrics log (every 50 steps); validation and the log's opening and CSV export
       // are per run, not per step
      auto model = train::build_model(config.model, splits.sample_shape, 1, config.seed);
      train::TrainerOptions options;
      options.epochs = epochs;
      train::Trainer trainer(model, train::build_optimizer(config.optimizer, *model),
                             train::build_loss(config.trainer, false), options);
      std::filesystem::remove_all(scratch);
      std::filesystem::create_directories(scratch);
      auto start = std::make_shared<Stopwatch>(true), end = std::make_shared<Stopwatch>(false);
      trainer.add_callback(end);
      trainer.add_callback(std::make_shared<train::MetricsLogger>(scratch / "metrics.jsonl", 50));
      trainer.add_callback(start);
      trainer.fit(loader, nullptr);
      fit.push_back(ms_per_step(end->time - start->time, steps));
    }
  }
  std::filesystem::remove_all(scratch);
  // Each round times the two back to back, so their ratio cancels the slow drift of a shared machine's
  // load; the median ratio is the overhead figure.
  std::vector<double> ratios;
  for (std::size_t i = 0; i < raw.size(); ++i) ratios.push_back(fit[i] / raw[i]);
  std::sort(ratios.begin(), ratios.end());
  std::sort(raw.begin(), raw.end());
  std::sort(fit.begin(), fit.end());
  const double raw_median = raw[raw.size() / 2], fit_median = fit[fit.size() / 2];
  nlohmann::json result = {{"benchmark", "fit"},
                           {"model", "simplenet 1-64-64-1, sgd, batch 32"},
                           {"steps_per_round", steps},
                           {"rounds", rounds},
                           {"raw_ms_per_step", raw_median},
                           {"fit_ms_per_step", fit_median},
                           {"overhead", ratios[ratios.size() / 2] - 1.0},
                           {"overhead_p25", ratios[ratios.size() / 4] - 1.0},
                           {"overhead_p75", ratios[ratios.size() * 3 / 4] - 1.0},
                           {"raw_ms_per_step_min", raw.front()},
                           {"fit_ms_per_step_min", fit.front()}};
  std::cout << result.dump() << std::endl;
}

}  // namespace

void report_run_outcome(const std::string& summary_json) {
  const auto summary = nlohmann::json::parse(summary_json);
  const auto skipped = summary.value("steps_skipped", std::int64_t(0));
  if (skipped > 0)
    std::cerr << "warning: " << skipped << " of " << summary.value("steps", std::int64_t(0))
              << " steps were skipped (a loss or gradient was not finite)\n";
  if (summary.value("stopped", "") == "diverged") {
    std::cerr << "warning: the run diverged after step " << summary.value("steps", std::int64_t(0))
              << ": its weights or, for an epoch's worth of steps in a row, its losses are not finite, so training "
                 "stopped (try a lower optimizer.lr or "
                 "transforms.max_norm); exit status 3\n";
    exit_status() = 3;
  }
}

static RegisterCommand reg_train{
    "train", "train a TOML config into a run folder (last stdout line: JSON summary)", [](CLI::App& sub) {
      auto o = std::make_shared<TrainOptions>();
      sub.add_option("config", o->config, "TOML config file")->required();
      sub.add_option("--set", o->overrides, "override a key: --set optimizer.lr=0.01 (repeatable)")
          ->allow_extra_args(false);
      sub.add_option("--out", o->out, "run folder (default: runs/<name>-<date-time>)");
      sub.add_option("--progress", o->progress, "auto, bar, log or none (default: trainer.progress)")
          ->check(CLI::IsMember({"auto", "bar", "log", "none"}));
      sub.callback([o] { run_train(*o); });
    }};

static RegisterCommand reg_bench_fit{
    "bench fit", "Trainer::fit step cost against the plain loop on the seeds' model (JSON)", [](CLI::App& sub) {
      auto epochs = std::make_shared<std::int64_t>(10);
      auto rounds = std::make_shared<int>(31);
      sub.add_option("--epochs", *epochs, "epochs per timed run")->check(positive_number());
      sub.add_option("--rounds", *rounds, "rounds, each timing the plain loop then fit (median of the per-round ratios)")->check(positive_number());
      sub.callback([epochs, rounds] { run_fit_bench(*epochs, *rounds); });
    }};

}  // namespace descent::cli
