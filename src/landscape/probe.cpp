#include "descent/landscape/probe.hpp"

#include <algorithm>

#include "descent/autograd/node.hpp"

namespace descent::landscape {

namespace {

// Puts the model in eval mode for its lifetime, then restores the mode it had.
class EvalMode {
 public:
  explicit EvalMode(nn::Module& model) : model_(model), was_training_(model.is_training()) { model.eval(); }
  ~EvalMode() { model_.train(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  nn::Module& model_;
  bool was_training_;
};

}  // namespace

LossProbe::LossProbe(const data::TensorDataset& dataset, std::int64_t samples, std::int64_t batch_size,
                     train::LossFunction loss, Precision precision)
    : loss_(std::move(loss)), precision_(precision) {
  const std::int64_t size = dataset.size();
  DESCENT_CHECK(size > 0, "loss probe: the dataset is empty");
  DESCENT_CHECK(samples >= 0, "loss probe: samples = ", samples, ": expected 0 (all) or a positive count");
  DESCENT_CHECK(batch_size > 0, "loss probe: batch_size = ", batch_size, ": expected a positive count");
  samples_ = samples == 0 ? size : std::min(samples, size);
  std::vector<std::int64_t> indices(static_cast<std::size_t>(samples_));
  for (std::int64_t i = 0; i < samples_; ++i) indices[std::size_t(i)] = i * size / samples_;
  for (std::int64_t start = 0; start < samples_; start += batch_size) {
    const std::int64_t end = std::min(samples_, start + batch_size);
    batches_.push_back(dataset.get_batch(std::span<const std::int64_t>(indices).subspan(std::size_t(start),
                                                                                          std::size_t(end - start))));
  }
}

double LossProbe::loss(nn::Module& model) const {
  EvalMode eval(model);
  NoGradGuard no_grad;
  Autocast autocast(precision_);
  double sum = 0;
  for (const auto& batch : batches_)
    sum += loss_(model.forward(batch.inputs), batch.targets).item<double>() * double(batch.inputs.size(0));
  return sum / double(samples_);
}

FlatVector LossProbe::gradient(nn::Module& model, double* loss) const {
  EvalMode eval(model);
  model.zero_grad();
  Autocast autocast(precision_);
  double sum = 0;
  for (const auto& batch : batches_) {
    // Each batch's mean loss weighted by its share of the samples: the gradients add up to the gradient
    // of the mean over all samples.
    const double weight = double(batch.inputs.size(0)) / double(samples_);
    Tensor batch_loss = loss_(model.forward(batch.inputs), batch.targets);
    sum += batch_loss.item<double>() * weight;
    autograd::backward(mul(batch_loss, weight));
  }
  if (loss) *loss = sum;
  FlatVector gradient = get_gradients(model);
  model.zero_grad();
  return gradient;
}

}  // namespace descent::landscape
