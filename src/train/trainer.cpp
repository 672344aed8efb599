#include "descent/train/trainer.hpp"

#include <algorithm>
#include <cmath>

#include "descent/autograd/node.hpp"
#include "descent/core/interrupt.hpp"

namespace descent::train {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

}  // namespace

Trainer::Trainer(std::shared_ptr<nn::Module> model, std::unique_ptr<optim::Optimizer> optimizer, LossFunction loss,
                 TrainerOptions options)
    : model_(std::move(model)),
      optimizer_(std::move(optimizer)),
      loss_(std::move(loss)),
      options_(std::move(options)),
      pipeline_(options_.gradients),
      accumulator_(options_.accumulation_steps),
      epoch_metrics_(options_.classification, options_.top_k) {
  DESCENT_CHECK(model_ && optimizer_ && loss_, "Trainer: needs a model, an optimizer and a loss");
  DESCENT_CHECK(options_.epochs >= 1, "Trainer: epochs = ", options_.epochs, "; expected >= 1");
  DESCENT_CHECK(options_.max_steps >= 0, "Trainer: max_steps = ", options_.max_steps, "; expected >= 0");
  model_->build_arena();
  std::vector<std::string> names;
  for (const auto& [name, param] : model_->named_parameters()) {
    params_.push_back(param);
    names.push_back(name);
  }
  pipeline_.set_parameter_names(std::move(names));
}

void Trainer::add_schedule(schedule::ScheduleBinding binding, bool per_epoch) {
  binding.validate();
  schedules_.emplace_back(std::move(binding), per_epoch);
}

void Trainer::add_callback(std::shared_ptr<Callback> callback) {
  for (const auto& existing : callbacks_)
    DESCENT_CHECK(existing->name() != callback->name(), "Trainer: two callbacks named ", callback->name());
  callbacks_.push_back(std::move(callback));
}

double Trainer::elapsed_seconds() const {
  return elapsed_before_ + (fitting_ ? seconds_between(session_start_, Clock::now()) : 0.0);
}

void Trainer::apply_schedules() {
  for (const auto& [binding, per_epoch] : schedules_)
    for (const auto& value : binding.values_at(per_epoch ? position_.epoch : position_.step))
      optimizer_->set_hyperparameter(value.group, value.name, value.value);
  if (!schedules_.empty() && has_lr_) lr_in_force_ = lr();
}

void Trainer::observe_metric(double value) {
  for (const auto& [binding, per_epoch] : schedules_) binding.observe(per_epoch ? position_.epoch : position_.step, value);
  apply_schedules();
}

void Trainer::fit(const data::DataLoader& train, const data::DataLoader* validation) {
  const std::int64_t batches = train.batches_per_epoch();
  DESCENT_CHECK(batches > 0, "Trainer::fit: the training loader yields no batch");
  steps_per_epoch_ = (batches + options_.accumulation_steps - 1) / options_.accumulation_steps;
  total_steps_ = options_.epochs * steps_per_epoch_;
  if (options_.max_steps > 0) total_steps_ = std::min(total_steps_, options_.max_steps);
  if (position_.finished) return;
  session_start_ = Clock::now();
  fitting_ = true;
  stop_reason_.clear();
  const auto names = optimizer_->hyperparameter_names();
  has_lr_ = std::find(names.begin(), names.end(), "lr") != names.end();
  lr_in_force_ = has_lr_ ? lr() : 0.0;
  apply_schedules();
  model_->zero_grad();
  for (auto& callback : callbacks_) callback->on_fit_begin(*this);
  while (position_.epoch < options_.epochs && stop_reason_.empty()) {
    model_->train();
    bool stepped_last = true;
    {
      auto reader = train.epoch(position_.epoch, position_.batch);
      while (auto batch = reader.next()) {
        position_.batch = batch->index + 1;
        stepped_last = train_batch(*batch);
        if (options_.max_steps > 0 && position_.step >= options_.max_steps && stop_reason_.empty())
          stop_reason_ = "max_steps";
        // Ctrl-C or SIGTERM: stop after this optimizer step; the fit-end callbacks write a checkpoint
        // at this position, and a resume continues from it as if nothing had happened.
        if (stepped_last && stop_reason_.empty() && stop_requested()) stop_reason_ = "interrupted";
        if (!stop_reason_.empty() && stepped_last) break;
      }
    }
    if (stop_reason_ == "interrupted") break;  // mid-epoch: no epoch record, the position stays
    if (position_.batch == batches && accumulator_.pending() > 0) {  // a trailing partial group
      const double correction = accumulator_.partial_group_correction();
      accumulator_.flush();
      optimizer_step(correction, batches - 1);
    }
    end_epoch(validation);
  }
  position_.finished = stop_reason_ != "interrupted";
  for (auto& callback : callbacks_) callback->on_fit_end(*this);
  elapsed_before_ = elapsed_seconds();
  fitting_ = false;
}

bool Trainer::train_batch(const data::Batch& batch) {
  if (step_batches_ == 0) step_start_ = Clock::now();
  // One scope per micro-batch: forward and backward share each weight's 16-bit copy.
  Autocast autocast(options_.precision);
  Tensor output = model_->forward(batch.inputs);
  Tensor loss = loss_(output, batch.targets);
  const double value = loss.item<double>();
  if (std::isfinite(value)) {
    epoch_metrics_.add(output, batch.targets, value);
  } else {
    if (options_.gradients.nonfinite_policy == transform::NonFinitePolicy::Raise && !options_.gradients.loss_scaling)
      throw Error("step " + std::to_string(position_.step + 1) + " (epoch " + std::to_string(position_.epoch + 1) +
                  ", batch " + std::to_string(batch.index) + "): the loss is " + std::to_string(value) +
                  "; stopping (transforms.nonfinite = raise)");
    if (stop_reason_.empty() && !weights_finite()) stop_reason_ = "diverged";
  }
  step_loss_sum_ += value;
  ++step_batches_;
  step_examples_ += batch.inputs.size(0);
  const double factor = pipeline_.loss_scale() * accumulator_.loss_weight();
  autograd::backward(factor == 1.0 ? loss : mul(loss, factor));
  if (!accumulator_.micro_batch_done()) return false;
  optimizer_step(1.0, batch.index);
  return true;
}

void Trainer::optimizer_step(double correction, std::int64_t batch_index) {
  transform::StepDecision decision;
  try {
    decision = pipeline_.apply(params_);
  } catch (const Error& e) {
    throw Error("step " + std::to_string(position_.step + 1) + " (epoch " + std::to_string(position_.epoch + 1) +
                ", batch " + std::to_string(batch_index) + "): " + e.what());
  }
  const double lr_used = lr_in_force_;
  if (!decision.skip) {
    optimizer_->scaled_step(decision.grad_scale * correction);
    skip_streak_ = 0;
  } else {
    ++epoch_steps_skipped_;
    if (++skip_streak_ >= steps_per_epoch_ && stop_reason_.empty()) stop_reason_ = "diverged";
  }
  model_->zero_grad();
  ++position_.step;
  apply_schedules();
  const double step_seconds = seconds_between(step_start_, Clock::now());
  StepRecord record;
  record.step = position_.step;
  record.epoch = position_.epoch;
  record.batch = batch_index;
  record.loss = step_loss_sum_ / double(std::max<std::int64_t>(step_batches_, 1));
  record.grad_norm = decision.grad_norm;
  record.lr = lr_used;
  record.step_time_ms = step_seconds * 1e3;
  record.examples = step_examples_;
  record.examples_per_s = step_seconds > 0 ? double(step_examples_) / step_seconds : 0.0;
  record.skipped = decision.skip;
  epoch_grad_norm_sum_ += decision.grad_norm;
  epoch_train_seconds_ += step_seconds;
  ++epoch_steps_;
  step_loss_sum_ = 0;
  step_batches_ = step_examples_ = 0;
  for (auto& callback : callbacks_) callback->on_step_end(*this, record);
}

MetricMap Trainer::evaluate(const data::DataLoader& loader, const std::string& prefix) {
  const bool was_training = model_->is_training();
  model_->eval();
  MetricAccumulator metrics(options_.classification, options_.top_k);
  {
    NoGradGuard no_grad;
    Autocast autocast(options_.precision);
    for (auto& batch : loader.epoch(0)) {
      Tensor output = model_->forward(batch.inputs);
      metrics.add(output, batch.targets, loss_(output, batch.targets).item<double>());
    }
  }
  model_->train(was_training);
  return metrics.result(prefix);
}

bool Trainer::weights_finite() const {
  for (const Tensor& p : params_) {
    const Tensor values = p.is_contiguous() ? p : p.contiguous_copy();
    const std::int64_t n = values.numel();
    if (values.dtype() == DType::Float32) {
      const float* x = values.data<float>();
      float sum = 0;  // inf - inf and NaN both end as NaN: one add per element, no branch
      for (std::int64_t i = 0; i < n; ++i) sum += x[i] * 0.0f;
      if (!(sum == 0)) return false;
    } else if (values.dtype() == DType::Float64) {
      const double* x = values.data<double>();
      double sum = 0;
      for (std::int64_t i = 0; i < n; ++i) sum += x[i] * 0.0;
      if (!(sum == 0)) return false;
    }
  }
  return true;
}

void Trainer::end_epoch(const data::DataLoader* validation) {
  if (stop_reason_.empty() && !weights_finite()) stop_reason_ = "diverged";
  EpochRecord record;
  record.epoch = position_.epoch + 1;  // 1-based in records, as people count epochs
  record.step = position_.step;
  record.metrics = epoch_metrics_.result("train_");
  if (validation) record.metrics.merge(evaluate(*validation, "val_"));
  record.metrics["lr"] = has_lr_ ? lr() : 0.0;
  record.metrics["train_time_s"] = epoch_train_seconds_;
  record.metrics["examples_per_s"] = epoch_train_seconds_ > 0 ? double(epoch_metrics_.examples()) / epoch_train_seconds_ : 0.0;
  record.metrics["steps_skipped"] = double(epoch_steps_skipped_);
  record.metrics["grad_norm"] = epoch_steps_ ? epoch_grad_norm_sum_ / double(epoch_steps_) : 0.0;
  record.metrics["peak_rss_mb"] = peak_rss_mb();
  record.metrics["elapsed_s"] = elapsed_seconds();
  history_.push_back(record);
  epoch_metrics_.reset();
  epoch_steps_skipped_ = epoch_steps_ = 0;
  epoch_grad_norm_sum_ = epoch_train_seconds_ = 0;
  ++position_.epoch;
  position_.batch = 0;
  apply_schedules();
  for (auto& callback : callbacks_) callback->on_epoch_end(*this, history_.back());
}

}  // namespace descent::train
