#pragma once
// Normalisation layers: BatchNorm1d, BatchNorm2d (torch.nn.BatchNorm*d) and LayerNorm (torch.nn.LayerNorm).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "descent/nn/module.hpp"

namespace descent::nn {

// Parameters weight (ones) and bias (zeros) [num_features] when affine; buffers running_mean (zeros),
// running_var (ones) and num_batches_tracked (int64 scalar) when track_running_stats. In training mode
// each forward normalises with the batch statistics, counts the batch and updates the running statistics
// with factor momentum (or, when momentum is nullopt, the cumulative average 1 / num_batches_tracked).
// In eval mode it normalises with the running statistics, or with the batch statistics when they are
// not tracked.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string describe() const override;
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }
  std::int64_t num_batches_tracked() const;
  // PyTorch's momentum attribute; nullopt means the cumulative average (update_bn sets it temporarily).
  std::optional<double> momentum() const { return momentum_; }
  void set_momentum(std::optional<double> momentum) { momentum_ = momentum; }

 protected:
  BatchNorm(const char* name, std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
            bool track_running_stats, DType dtype);
  // Throws unless the input has the rank this variant accepts.
  virtual void check_input_dim(const Tensor& input) const = 0;

 private:
  const char* name_;
  std::int64_t num_features_;
  double eps_;
  std::optional<double> momentum_;
  bool affine_, track_running_stats_;
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

// Input [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true, DType dtype = DType::Float32)
      : BatchNorm("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats, dtype) {}

 protected:
  void check_input_dim(const Tensor& input) const override;
};

// Input [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true, DType dtype = DType::Float32)
      : BatchNorm("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats, dtype) {}

 protected:
  void check_input_dim(const Tensor& input) const override;
};

// Normalises over the trailing normalized_shape dimensions. Parameters weight (ones) and, when bias,
// bias (zeros) of normalized_shape when elementwise_affine.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::vector<std::int64_t> normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                     bool bias = true, DType dtype = DType::Float32);
  Tensor forward(const Tensor& input) override;
  std::string describe() const override;
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  std::vector<std::int64_t> normalized_shape_;
  double eps_;
  bool elementwise_affine_;
  Tensor weight_, bias_;
};

}  // namespace descent::nn
