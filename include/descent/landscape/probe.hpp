#pragma once
// The loss of a model on a fixed set of samples, and its gradient: what every landscape measurement
// evaluates. The model runs in eval mode (dropout off, batch norm on its running statistics), so the loss
// is a deterministic function of the parameters, and evaluation does not touch the running statistics.
// Batches are evaluated one after another: the model is one object whose parameters the caller moves
// between points, and each forward already runs its kernels on every thread.
#include <cstdint>
#include <vector>

#include "descent/autograd/autocast.hpp"
#include "descent/data/dataset.hpp"
#include "descent/landscape/parameters.hpp"
#include "descent/train/builders.hpp"

namespace descent::landscape {

class LossProbe {
 public:
  // `samples` evenly spaced samples of `dataset` (all of it when samples is 0 or exceeds its size), cut
  // into batches of at most `batch_size`. The choice depends on nothing but the sizes, so every point of
  // a study (and every study of the same run) sees the same samples.
  // Forward passes run under Autocast(precision), as the run trained.
  LossProbe(const data::TensorDataset& dataset, std::int64_t samples, std::int64_t batch_size,
            train::LossFunction loss, Precision precision = Precision::Float32);

  std::int64_t samples() const { return samples_; }
  // The mean loss over the samples (no graph recorded).
  double loss(nn::Module& model) const;
  // The gradient of the mean loss, flat (see parameters.hpp); `loss` receives the mean loss when given.
  FlatVector gradient(nn::Module& model, double* loss = nullptr) const;

 private:
  std::vector<data::Batch> batches_;
  std::int64_t samples_ = 0;
  train::LossFunction loss_;
  Precision precision_ = Precision::Float32;
};

}  // namespace descent::landscape
