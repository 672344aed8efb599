#pragma once
// Builds the pieces of a run from a validated Config: datasets and loaders, the model, the optimizer with
// its parameter groups, the schedule binding and the loss. Each is a function of the config and its seed.
#include <functional>
#include <memory>
#include <optional>

#include "descent/data/loader.hpp"
#include "descent/nn/module.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/schedule/binding.hpp"
#include "descent/train/config.hpp"

namespace descent::train {

struct DataSplits {
  std::shared_ptr<data::TensorDataset> train, validation, test;
  bool classification = false;
  std::int64_t num_outputs = 1;  // classes, or regression targets
  Shape sample_shape;
};

// Loads or generates the dataset, holds out test and validation splits (seeded by `seed`), and applies
// the configured scaling fitted on the training split.
DataSplits build_datasets(const DataConfig& config, std::uint64_t seed);
// The shuffled training loader (with augmentation when configured); its order is a function of `seed`.
data::DataLoader make_train_loader(const DataSplits& splits, const DataConfig& config, std::uint64_t seed);
// An in-order loader over `dataset` with eval_batch_size.
data::DataLoader make_eval_loader(const std::shared_ptr<data::TensorDataset>& dataset, const DataConfig& config);

// The model for samples of `sample_shape` and `outputs` output units; weights drawn from `seed`.
std::shared_ptr<nn::Module> build_model(const ModelConfig& config, const Shape& sample_shape, std::int64_t outputs,
                                        std::uint64_t seed);

// The optimizer over `model`'s parameters with the configured groups: rules first (first match wins),
// then each group split in decaying and non-decaying parameters (weight_decay 0).
std::unique_ptr<optim::Optimizer> build_optimizer(const OptimizerConfig& config, const nn::Module& model);

// The configured schedule (with ReduceLROnPlateau chained last when trainer.plateau is set) bound to every
// group; nothing when neither is configured. "auto" counts become `total_units` (steps or epochs).
std::optional<schedule::ScheduleBinding> build_schedule(const Config& config, const optim::Optimizer& optimizer,
                                                         std::int64_t total_units);

using LossFunction = std::function<Tensor(const Tensor& output, const Tensor& target)>;
LossFunction build_loss(const TrainerConfig& config, bool classification);

}  // namespace descent::train
