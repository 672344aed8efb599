#pragma once
// Stochastic weight averaging with torch.optim.swa_utils.AveragedModel's semantics, over a list of tensors
// (the parameters, and the buffers too when PyTorch's use_buffers=True is wanted):
//
//   update_parameters(): first call copies the current values; later calls apply
//       avg <- avg_fn(avg, current, n_averaged)            default: avg + (current - avg) / (n_averaged + 1)
//   then n_averaged += 1.
// avg_fn is element-wise here (PyTorch's takes tensors); ema_avg_fn(decay) is PyTorch's get_ema_avg_fn.
// Recomputing batch-norm statistics for the averaged weights is descent::nn::update_bn
// (descent/nn/swa_utils.hpp): copy the averages into the model with copy_to(), then call it.
// Source: Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima and Better Generalization".
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::optim {

// (averaged value, current value, number of models averaged so far) -> new averaged value.
using AverageFn = std::function<double(double averaged, double current, std::int64_t num_averaged)>;

// PyTorch's get_ema_avg_fn: decay * averaged + (1 - decay) * current. 0 <= decay <= 1.
AverageFn ema_avg_fn(double decay = 0.999);

class AveragedParameters {
 public:
  // `tracked` are the live tensors (model parameters); the averages start as copies of them.
  explicit AveragedParameters(std::vector<Tensor> tracked, AverageFn avg_fn = nullptr);

  void update_parameters();
  std::int64_t n_averaged() const { return n_averaged_; }
  const std::vector<Tensor>& averages() const { return averages_; }
  // Writes the averages into `targets` (same count, shapes and dtypes as the tracked tensors).
  void copy_to(const std::vector<Tensor>& targets) const;

  std::map<std::string, Tensor> state_dict() const;  // "average.<i>" and "n_averaged" (int64 scalar)
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  std::vector<Tensor> tracked_, averages_;
  AverageFn avg_fn_;
  std::int64_t n_averaged_ = 0;
};

}  // namespace descent::optim
