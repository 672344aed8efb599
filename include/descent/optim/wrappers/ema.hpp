#pragma once
// Exponential moving average of parameters (Polyak-Ruppert style averaging with a decay; as timm's ModelEma
// and TensorFlow's ExponentialMovingAverage). Call update() after each optimizer step.
//
//   d_t     <- decay                                   without warm-up
//   d_t     <- min(decay, (1 + t) / (10 + t))          with warm-up; t = updates made before this one
//                                                      (TensorFlow's num_updates form: 0.1, 0.18, ...)
//   shadow  <- d_t * shadow + (1 - d_t) * p
// The averages start as a copy of the parameters at construction. Use copy_to() (or swap_in/swap_out)
// to evaluate with the averaged weights.
#include <cstdint>
#include <map>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::optim {

class ExponentialMovingAverage {
 public:
  // 0 <= decay <= 1, else an Error naming the value.
  ExponentialMovingAverage(std::vector<Tensor> params, double decay, bool warmup = false);

  void update();
  // The decay the next update() will use.
  double current_decay() const;
  const std::vector<Tensor>& averages() const { return shadow_; }
  std::int64_t num_updates() const { return updates_; }

  // Writes the averages into `targets` (same count, shapes and dtypes as the tracked parameters).
  void copy_to(const std::vector<Tensor>& targets) const;
  // Exchanges the parameters' values with the averages; swap_out() (the same exchange) restores them.
  void swap_in();
  void swap_out() { swap_in(); }

  std::map<std::string, Tensor> state_dict() const;  // "average.<i>" and "num_updates" (int64 scalar)
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  std::vector<Tensor> params_, shadow_;
  double decay_;
  bool warmup_;
  std::int64_t updates_ = 0;
};

}  // namespace descent::optim
