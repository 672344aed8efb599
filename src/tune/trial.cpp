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
  train::RunOptions options;
  options.progress = "none";
  return train::open_run_session(config, run_dir, options);
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
