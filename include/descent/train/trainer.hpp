#pragma once
// Trainer: fits a model over a training loader, evaluating on a validation loader after each epoch.
//
// One optimizer step (DESIGN.md's data path):
//   batch -> forward -> loss (x loss scale x 1/accumulation) -> backward
//   -> after each accumulation group: GradientPipeline::apply (one pass: norm, non-finite check, clipping
//      factor) -> Optimizer::scaled_step(factor) (or skip, per the non-finite policy)
//   -> zero gradients -> per-step schedules set the next step's hyperparameters -> callbacks.
// After each epoch: validation metrics, per-epoch schedules, callbacks (which may stop the run).
//
// Everything a resumed run needs is in state(): model, optimizer, schedule, gradient pipeline (loss
// scaler), accumulation, dropout generators, loader position (epoch, next batch), step, the epoch's running
// metrics, the history and each callback's state. load_state() then fit() continues exactly where
// state() was taken: the parameters match an uninterrupted run bit for bit.
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "descent/autograd/autocast.hpp"
#include "descent/data/loader.hpp"
#include "descent/nn/module.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/schedule/binding.hpp"
#include "descent/train/builders.hpp"
#include "descent/train/metrics.hpp"
#include "descent/train/safetensors.hpp"
#include "descent/transform/accumulation.hpp"
#include "descent/transform/pipeline.hpp"

namespace descent::train {

class Trainer;

struct StepRecord {
  std::int64_t step = 0;    // optimizer steps done, this one included
  std::int64_t epoch = 0;
  std::int64_t batch = 0;   // index of the step's last batch within the epoch
  double loss = 0;          // mean loss of the step's batches
  double grad_norm = 0;     // of the unscaled gradient, before clipping
  double lr = 0;            // group 0's lr used by this step
  double step_time_ms = 0;  // from the first batch in hand to the end of the step
  double examples_per_s = 0;
  std::int64_t examples = 0;
  bool skipped = false;     // non-finite gradients: the update was not applied
};

struct EpochRecord {
  std::int64_t epoch = 0;
  std::int64_t step = 0;
  MetricMap metrics;  // train_*, val_*, lr, epoch_time_s, examples_per_s, peak_rss_mb, steps_skipped
};

// Tensors and JSON metadata of a whole training state (what a checkpoint holds).
struct TrainingState {
  nlohmann::json meta = nlohmann::json::object();
  TensorMap tensors;
};

class Callback {
 public:
  virtual ~Callback() = default;
  // A unique name: the key of its state in checkpoints.
  virtual std::string name() const = 0;
  virtual void on_fit_begin(Trainer&) {}
  virtual void on_step_end(Trainer&, const StepRecord&) {}
  virtual void on_epoch_end(Trainer&, const EpochRecord&) {}
  virtual void on_fit_end(Trainer&) {}
  // State to carry across a resume (tensors named freely; they are namespaced by the trainer).
  virtual TrainingState state() const { return {}; }
  virtual void load_state(const TrainingState&) {}
};

struct TrainerOptions {
  std::int64_t epochs = 1;
  std::int64_t max_steps = 0;  // 0: epochs only
  bool classification = false;
  std::int64_t top_k = 5;
  std::int64_t accumulation_steps = 1;
  transform::GradientPipelineOptions gradients;
  Precision precision = Precision::Float32;  // autocast around forward, loss and backward, and evaluation
};

struct TrainingPosition {
  std::int64_t epoch = 0;  // the epoch in progress
  std::int64_t batch = 0;  // the next batch of that epoch
  std::int64_t step = 0;   // optimizer steps done
  bool finished = false;
};

class Trainer {
 public:
  Trainer(std::shared_ptr<nn::Module> model, std::unique_ptr<optim::Optimizer> optimizer, LossFunction loss,
          TrainerOptions options);

  // A schedule applied before every step (per_epoch false, indexed by the step) or every epoch.
  void add_schedule(schedule::ScheduleBinding binding, bool per_epoch);
  // Callbacks run in the order added.
  void add_callback(std::shared_ptr<Callback> callback);

  // Trains until options.epochs (or max_steps, or a callback's stop request), from position().
  void fit(const data::DataLoader& train, const data::DataLoader* validation);
  // Mean loss and metrics over `loader` in eval mode, keys prefixed with `prefix` ("val_", "test_").
  MetricMap evaluate(const data::DataLoader& loader, const std::string& prefix);

  // True while every parameter value is finite. fit() stops with stop_reason() "diverged" once a weight
  // is NaN or infinite (checked when a loss is not finite and at each epoch's end), or once a whole
  // epoch's worth of consecutive steps was skipped for non-finite values (weights so large that every
  // output overflows): neither recovers, and their metrics mean nothing.
  bool weights_finite() const;

  // Ends fit() after the current step (at the end of the epoch when called from on_epoch_end).
  void request_stop(std::string reason) { stop_reason_ = std::move(reason); }
  const std::string& stop_reason() const { return stop_reason_; }
  // Feeds a monitored metric to the schedules (ReduceLROnPlateau) and applies their new values.
  void observe_metric(double value);

  nn::Module& model() { return *model_; }
  const LossFunction& loss() const { return loss_; }
  const std::shared_ptr<nn::Module>& model_ptr() const { return model_; }
  optim::Optimizer& optimizer() { return *optimizer_; }
  const transform::GradientPipeline& gradients() const { return pipeline_; }
  const TrainingPosition& position() const { return position_; }
  const TrainerOptions& options() const { return options_; }
  const std::vector<EpochRecord>& history() const { return history_; }
  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }
  // The number of optimizer steps fit() will take in all (epochs and max_steps).
  std::int64_t total_steps() const { return total_steps_; }
  double lr() const { return optimizer_->hyperparameter(0, "lr"); }
  // Group 0's lr as of the last schedule application (what the next step uses), without a lookup.
  double lr_in_force() const { return lr_in_force_; }
  // Running training metrics of the epoch in progress.
  const MetricAccumulator& epoch_metrics() const { return epoch_metrics_; }
  // Seconds spent in fit() over every session of this run (resumes add up).
  double elapsed_seconds() const;

  TrainingState state() const;
  void load_state(const TrainingState& state);

  // One micro-batch of fit(): forward, loss and backward under the precision's autocast, then the
  // gradient pipeline and the optimizer step when the batch completes one (the return value). For
  // benchmarks and loops of one's own; fit() calls it for every batch.
  bool train_batch(const data::Batch& batch);

 private:
  void optimizer_step(double correction, std::int64_t batch_index);
  void apply_schedules();
  void end_epoch(const data::DataLoader* validation);

  std::shared_ptr<nn::Module> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  LossFunction loss_;
  TrainerOptions options_;
  transform::GradientPipeline pipeline_;
  transform::GradientAccumulator accumulator_;
  std::vector<Tensor> params_;
  std::vector<std::pair<schedule::ScheduleBinding, bool>> schedules_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
  TrainingPosition position_;
  MetricAccumulator epoch_metrics_;
  std::vector<EpochRecord> history_;
  std::string stop_reason_;
  std::int64_t steps_per_epoch_ = 0, total_steps_ = 0;
  std::int64_t epoch_steps_skipped_ = 0;
  std::int64_t skip_streak_ = 0;  // consecutive skipped steps, across epochs
  double epoch_grad_norm_sum_ = 0;
  double epoch_train_seconds_ = 0;  // time in steps this epoch
  std::int64_t epoch_steps_ = 0;
  // The step being accumulated.
  double step_loss_sum_ = 0;
  std::int64_t step_batches_ = 0, step_examples_ = 0;
  std::chrono::steady_clock::time_point step_start_;
  double elapsed_before_ = 0;  // seconds of earlier sessions
  std::chrono::steady_clock::time_point session_start_;
  bool fitting_ = false;
  bool has_lr_ = false;      // the optimizer has an "lr" hyperparameter
  double lr_in_force_ = 0;
};

}  // namespace descent::train
