#include "descent/tune/trial.hpp"

#include <cmath>

#include "descent/core/error.hpp"

namespace descent::tune {

using nlohmann::json;

namespace {

// Reports the monitored metric after each epoch and stops the trainer when told to.
class ReportCallback : public train::Callback {
 public:
  ReportCallback(std::string metric, EpochReport report) : metric_(std::move(metric)), report_(std::move(report)) {}
  std::string name() const override { return "tune_report"; }
  void on_epoch_end(train::Trainer& trainer, const train::EpochRecord& record) override {
    last_ = train::monitored_metric(record, metric_, "tune.metric");
    if (report_ && report_(record.epoch, *last_)) {
      pruned = true;
      trainer.request_stop("pruned");
    }
  }
  std::optional<double> last_;
  bool pruned = false;

 private:
  std::string metric_;
  EpochReport report_;
};

}  // namespace

TrialSession open_trial_session(const train::Config& config, const std::filesystem::path& run_dir) {
  std::filesystem::create_directories(run_dir);
  train::write_file_atomic(run_dir / "config.toml", train::to_toml(config.resolved));
  TrialSession s;
  s.config = config;
  s.splits = train::build_datasets(config.data, config.seed);
  s.train_loader = std::make_unique<data::DataLoader>(train::make_train_loader(s.splits, config.data, config.seed));
  s.validation_loader = std::make_unique<data::DataLoader>(train::make_eval_loader(s.splits.validation, config.data));
  auto model = train::build_model(config.model, s.splits.sample_shape, s.splits.num_outputs, config.seed);
  auto optimizer = train::build_optimizer(config.optimizer, *model);
  train::TrainerOptions options;
  options.epochs = config.trainer.epochs;
  options.max_steps = config.trainer.max_steps;
  options.classification = s.splits.classification;
  options.top_k = config.trainer.top_k;
  options.accumulation_steps = config.transforms.accumulation_steps;
  options.gradients = config.transforms.pipeline;
  s.trainer = std::make_unique<train::Trainer>(model, std::move(optimizer),
                                               train::build_loss(config.trainer, s.splits.classification), options);
  train::Trainer& trainer = *s.trainer;

  const std::int64_t batches = s.train_loader->batches_per_epoch();
  const std::int64_t steps_per_epoch = (batches + config.transforms.accumulation_steps - 1) / config.transforms.accumulation_steps;
  std::int64_t total_steps = config.trainer.epochs * steps_per_epoch;
  if (config.trainer.max_steps > 0) total_steps = std::min(total_steps, config.trainer.max_steps);
  const bool per_epoch = config.schedule.enabled && config.schedule.interval == "epoch";
  if (auto binding = train::build_schedule(config, trainer.optimizer(), per_epoch ? config.trainer.epochs : total_steps))
    trainer.add_schedule(std::move(*binding), per_epoch);

  const auto& t = config.trainer;
  auto metrics_log = std::make_shared<train::MetricsLogger>(run_dir / "metrics.jsonl", t.log_every_steps);
  trainer.add_callback(metrics_log);
  if (t.plateau.enabled) trainer.add_callback(std::make_shared<train::PlateauMonitor>(t.plateau.monitor));
  if (t.early_stopping.enabled) trainer.add_callback(std::make_shared<train::EarlyStopping>(t.early_stopping));
  train::StringMap metadata{{"config", train::to_toml(config.resolved)}};
  s.checkpoint = std::make_shared<train::ModelCheckpoint>(run_dir / "checkpoints", t.checkpoint, metadata,
                                                          [metrics_log] { metrics_log->flush(); });
  trainer.add_callback(s.checkpoint);
  return s;
}

TrialOutcome train_trial(TrialSession& s, const std::filesystem::path& run_dir, const std::string& metric,
                         const EpochReport& report) {
  auto reporter = std::make_shared<ReportCallback>(metric, report);
  s.trainer->add_callback(reporter);
  s.trainer->fit(*s.train_loader, s.validation_loader.get());
  train::Trainer& trainer = *s.trainer;
  TrialOutcome outcome;
  outcome.pruned = reporter->pruned;
  if (reporter->last_ && std::isfinite(*reporter->last_)) outcome.value = reporter->last_;
  json final_metrics = json::object();
  if (!trainer.history().empty())
    for (const auto& [key, value] : trainer.history().back().metrics)
      if (std::isfinite(value)) final_metrics[key] = value;
  outcome.summary = {{"run_dir", run_dir.string()},
                     {"name", s.config.name},
                     {"steps", trainer.position().step},
                     {"epochs", trainer.history().size()},
                     {"wall_time_s", trainer.elapsed_seconds()},
                     {"stopped", trainer.stop_reason().empty() ? "completed" : trainer.stop_reason()},
                     {"final", final_metrics},
                     {"parameters", trainer.model().parameter_count()}};
  train::write_file_atomic(run_dir / "summary.json", outcome.summary.dump(2) + "\n");
  return outcome;
}

}  // namespace descent::tune
