#pragma once
// Built-in callbacks: the metrics log, early stopping, model checkpoints, ReduceLROnPlateau feeding and the
// progress display. A monitored metric is any key of an epoch record ("val_loss", "val_accuracy",
// "train_loss", ...); naming one that does not exist is an error listing those that do.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "descent/train/checkpoint.hpp"
#include "descent/train/config.hpp"
#include "descent/train/trainer.hpp"

namespace descent::train {

// The value of `key` in `record`; throws naming `who`, the key and the available metrics.
double monitored_metric(const EpochRecord& record, const std::string& key, const std::string& who);

// Appends step records (every `every_steps` steps, and the first) and epoch records to metrics.jsonl,
// and exports steps.csv and epochs.csv beside it when fit ends. On a resumed run it first drops the
// records past the resumed position.
class MetricsLogger : public Callback {
 public:
  MetricsLogger(std::filesystem::path jsonl, std::int64_t every_steps);
  std::string name() const override { return "metrics_log"; }
  void on_fit_begin(Trainer& trainer) override;
  void on_step_end(Trainer& trainer, const StepRecord& record) override;
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  void on_fit_end(Trainer& trainer) override;
  // Writes the buffered records out (see MetricsLog).
  void flush();

 private:
  std::filesystem::path path_;
  std::int64_t every_steps_;
  std::unique_ptr<MetricsLog> log_;
};

// Stops when the monitored metric has not improved by more than min_delta for `patience` epochs (as
// Keras). With restore_best_weights the model ends with the weights of its best epoch.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingConfig config);
  std::string name() const override { return "early_stopping"; }
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  void on_fit_end(Trainer& trainer) override;
  TrainingState state() const override;
  void load_state(const TrainingState& state) override;
  std::optional<double> best() const { return best_; }
  std::int64_t best_epoch() const { return best_epoch_; }

 private:
  EarlyStoppingConfig config_;
  std::optional<double> best_;
  std::int64_t best_epoch_ = 0;
  std::int64_t wait_ = 0;
  TensorMap best_weights_;
};

// Saves the whole training state into `dir`: best.safetensors when the monitored metric improves (at epoch
// ends), last.safetensors at every epoch end and when fit ends, and step-<N>.safetensors every N steps,
// keeping the newest `keep` of those. `metadata` (the resolved config) goes into every file. `before_save`
// runs before each write (a run flushes its metrics log there).
class ModelCheckpoint : public Callback {
 public:
  ModelCheckpoint(std::filesystem::path dir, CheckpointConfig config, StringMap metadata,
                  std::function<void()> before_save = nullptr);
  std::string name() const override { return "checkpoint"; }
  void on_step_end(Trainer& trainer, const StepRecord& record) override;
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  void on_fit_end(Trainer& trainer) override;
  TrainingState state() const override;
  void load_state(const TrainingState& state) override;
  std::optional<double> best() const { return best_; }
  std::int64_t best_epoch() const { return best_epoch_; }

 private:
  void save(Trainer& trainer, const std::string& file);
  std::filesystem::path dir_;
  CheckpointConfig config_;
  StringMap metadata_;
  std::function<void()> before_save_;
  std::optional<double> best_;
  std::int64_t best_epoch_ = 0;
};

// Feeds the monitored metric to the trainer's schedules after each epoch (ReduceLROnPlateau).
class PlateauMonitor : public Callback {
 public:
  explicit PlateauMonitor(std::string monitor) : monitor_(std::move(monitor)) {}
  std::string name() const override { return "plateau"; }
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;

 private:
  std::string monitor_;
};

// On a terminal: one line rewritten in place (epoch, step, loss, accuracy, lr, examples/s, ETA). Otherwise
// a log line every `every_steps` steps. A summary line after each epoch either way. Writes to `out`.
class ProgressReporter : public Callback {
 public:
  enum class Mode { Bar, Log, None };
  ProgressReporter(Mode mode, std::int64_t every_steps, std::FILE* out = stderr);
  // "auto" picks Bar when `out` is a terminal, else Log.
  static Mode parse_mode(const std::string& name, std::FILE* out = stderr);
  std::string name() const override { return "progress"; }
  void on_fit_begin(Trainer& trainer) override;
  void on_step_end(Trainer& trainer, const StepRecord& record) override;
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  void on_fit_end(Trainer& trainer) override;

 private:
  std::string status(Trainer& trainer, const StepRecord& record) const;
  Mode mode_;
  std::int64_t every_steps_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::int64_t start_step_ = 0;
  bool line_open_ = false;
};

}  // namespace descent::train
