#pragma once
// torch.optim.swa_utils.update_bn: recomputes the running statistics of every BatchNorm module of a model
// (usually after loading averaged weights) by one pass over the data. Lives in nn and does not depend on
// optim: the averaging itself is descent::optim::AveragedParameters.
#include <functional>
#include <optional>

#include "descent/nn/module.hpp"

namespace descent::nn {

// Resets each BatchNorm's running mean (0), variance (1) and batch count (0), switches it to the
// cumulative average (momentum nullopt), runs model.forward on every batch `next_batch` yields until it
// returns nullopt (in training mode, without recording gradients), then restores each momentum and the
// model's training mode. Does nothing, and draws no batch, when the model has no BatchNorm.
void update_bn(Module& model, const std::function<std::optional<Tensor>()>& next_batch);

}  // namespace descent::nn
