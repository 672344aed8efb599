#include "descent/train/callbacks.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

namespace descent::train {

namespace {

bool improves(const std::string& mode, double value, double best, double min_delta) {
  return mode == "min" ? value < best - min_delta : value > best + min_delta;
}

}  // namespace

double monitored_metric(const EpochRecord& record, const std::string& key, const std::string& who) {
  const auto found = record.metrics.find(key);
  if (found != record.metrics.end()) return found->second;
  std::string available;
  for (const auto& [name, value] : record.metrics) available += (available.empty() ? "" : ", ") + name;
  throw Error(who + ": monitored metric '" + key + "' does not exist; the epoch records hold " + available);
}

// ---- MetricsLogger

MetricsLogger::MetricsLogger(std::filesystem::path jsonl, std::int64_t every_steps)
    : path_(std::move(jsonl)), every_steps_(every_steps) {
  DESCENT_CHECK(every_steps_ >= 1, "MetricsLogger: every_steps = ", every_steps_, "; expected >= 1");
}

void MetricsLogger::on_fit_begin(Trainer& trainer) {
  const auto position = trainer.position();
  log_ = std::make_unique<MetricsLog>(path_, [position](const nlohmann::json& record) {
    const std::string kind = record.value("kind", "");
    if (kind == "step") return record.value("step", std::int64_t(0)) <= position.step;
    if (kind == "epoch") return record.value("epoch", std::int64_t(0)) <= position.epoch;
    return false;
  });
}

void MetricsLogger::on_step_end(Trainer& trainer, const StepRecord& r) {
  if (r.step % every_steps_ != 0 && r.step != 1) return;
  nlohmann::json line = {{"kind", "step"}, {"step", r.step}, {"epoch", r.epoch + 1}, {"batch", r.batch},
                         {"loss", r.loss}, {"grad_norm", r.grad_norm}, {"lr", r.lr},
                         {"step_time_ms", r.step_time_ms}, {"examples_per_s", r.examples_per_s},
                         {"skipped", r.skipped}};
  // The epoch's running training accuracy so far (classification).
  if (trainer.options().classification && trainer.epoch_metrics().examples() > 0)
    line["train_accuracy"] = trainer.epoch_metrics().accuracy();
  log_->write(line);
}

void MetricsLogger::on_epoch_end(Trainer&, const EpochRecord& record) {
  nlohmann::json line = {{"kind", "epoch"}, {"epoch", record.epoch}, {"step", record.step}};
  for (const auto& [key, value] : record.metrics) line[key] = value;
  log_->write(line);
}

void MetricsLogger::flush() {
  if (log_) log_->flush();
}

void MetricsLogger::on_fit_end(Trainer&) {
  flush();
  const auto folder = path_.parent_path();
  export_metrics_csv(path_, "step", folder / "steps.csv");
  export_metrics_csv(path_, "epoch", folder / "epochs.csv");
}

// ---- EarlyStopping

EarlyStopping::EarlyStopping(EarlyStoppingConfig config) : config_(std::move(config)) {
  DESCENT_CHECK(config_.mode == "min" || config_.mode == "max", "EarlyStopping: mode '", config_.mode,
                "'; expected min or max");
}

void EarlyStopping::on_epoch_end(Trainer& trainer, const EpochRecord& record) {
  const double value = monitored_metric(record, config_.monitor, "trainer.early_stopping");
  if (!best_ || improves(config_.mode, value, *best_, config_.min_delta)) {
    best_ = value;
    best_epoch_ = record.epoch;
    wait_ = 0;
    if (config_.restore_best_weights) {
      best_weights_.clear();
      for (const auto& [name, tensor] : trainer.model().state_dict()) best_weights_[name] = tensor.clone();
    }
    return;
  }
  if (++wait_ >= config_.patience)
    trainer.request_stop("early stopping: " + config_.monitor + " has not improved for " + std::to_string(wait_) +
                         " epochs (best " + std::to_string(*best_) + " at epoch " + std::to_string(best_epoch_) + ")");
}

void EarlyStopping::on_fit_end(Trainer& trainer) {
  if (config_.restore_best_weights && !best_weights_.empty() && !trainer.history().empty() &&
      trainer.history().back().epoch != best_epoch_)
    trainer.model().load_state_dict(best_weights_);
}

TrainingState EarlyStopping::state() const {
  TrainingState out;
  out.meta = {{"wait", wait_}, {"best_epoch", best_epoch_}};
  if (best_) out.meta["best"] = *best_;
  for (const auto& [name, tensor] : best_weights_) out.tensors.emplace("best." + name, tensor);
  return out;
}

void EarlyStopping::load_state(const TrainingState& state) {
  wait_ = state.meta.value("wait", std::int64_t(0));
  best_epoch_ = state.meta.value("best_epoch", std::int64_t(0));
  best_ = state.meta.contains("best") ? std::optional<double>(state.meta["best"].get<double>()) : std::nullopt;
  best_weights_.clear();
  for (const auto& [name, tensor] : state.tensors)
    if (name.starts_with("best.")) best_weights_.emplace(name.substr(5), tensor);
}

// ---- ModelCheckpoint

ModelCheckpoint::ModelCheckpoint(std::filesystem::path dir, CheckpointConfig config, StringMap metadata,
                                 std::function<void()> before_save)
    : dir_(std::move(dir)), config_(std::move(config)), metadata_(std::move(metadata)),
      before_save_(std::move(before_save)) {
  std::filesystem::create_directories(dir_);
}

void ModelCheckpoint::save(Trainer& trainer, const std::string& file) {
  if (before_save_) before_save_();
  save_checkpoint(dir_ / file, trainer.state(), metadata_);
}

void ModelCheckpoint::on_step_end(Trainer& trainer, const StepRecord& record) {
  if (config_.every_n_steps == 0 || record.step % config_.every_n_steps != 0) return;
  char file[64];
  std::snprintf(file, sizeof file, "step-%09lld.safetensors", static_cast<long long>(record.step));
  save(trainer, file);
  // Keep the newest `keep` step checkpoints (names sort by step).
  std::vector<std::filesystem::path> steps;
  static const std::regex pattern(R"(step-\d+\.safetensors)");
  for (const auto& entry : std::filesystem::directory_iterator(dir_))
    if (std::regex_match(entry.path().filename().string(), pattern)) steps.push_back(entry.path());
  std::sort(steps.begin(), steps.end());
  for (std::size_t i = 0; i + std::size_t(config_.keep) < steps.size(); ++i) std::filesystem::remove(steps[i]);
}

void ModelCheckpoint::on_epoch_end(Trainer& trainer, const EpochRecord& record) {
  if (config_.save_best) {
    const double value = monitored_metric(record, config_.monitor, "trainer.checkpoint");
    if (std::isfinite(value) && (!best_ || improves(config_.mode, value, *best_, 0.0))) {
      best_ = value;
      best_epoch_ = record.epoch;
      save(trainer, "best.safetensors");
    }
  }
  if (config_.save_last) save(trainer, "last.safetensors");
}

void ModelCheckpoint::on_fit_end(Trainer& trainer) {
  // An interrupted run always leaves a checkpoint of where it stopped, so that nothing is lost.
  if (config_.save_last || trainer.stop_reason() == "interrupted") save(trainer, "last.safetensors");
}

TrainingState ModelCheckpoint::state() const {
  TrainingState out;
  out.meta = {{"best_epoch", best_epoch_}};
  if (best_) out.meta["best"] = *best_;
  return out;
}

void ModelCheckpoint::load_state(const TrainingState& state) {
  best_epoch_ = state.meta.value("best_epoch", std::int64_t(0));
  best_ = state.meta.contains("best") ? std::optional<double>(state.meta["best"].get<double>()) : std::nullopt;
}

// ---- PlateauMonitor

void PlateauMonitor::on_epoch_end(Trainer& trainer, const EpochRecord& record) {
  trainer.observe_metric(monitored_metric(record, monitor_, "trainer.plateau"));
}

}  // namespace descent::train
