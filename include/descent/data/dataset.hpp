#pragma once
// Datasets hold samples and hand out whole batches. The loader asks for one batch per call (one virtual
// call per batch, never per element), and the in-memory TensorDataset gathers it with one memcpy per row.
#include <cstdint>
#include <span>

#include "descent/core/shape.hpp"
#include "descent/core/tensor.hpp"

namespace descent::data {

// One batch: inputs are float32 [B, ...sample shape]; targets are int64 class indices [B] or float32
// regression values [B, T]. `index` is the batch's position within its epoch.
struct Batch {
  Tensor inputs;
  Tensor targets;
  std::int64_t index = 0;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::int64_t size() const = 0;
  // Gathers the samples at `indices` (each in [0, size())) into one batch. Called from the loader's
  // background thread, so it must not mutate shared state.
  virtual Batch get_batch(std::span<const std::int64_t> indices) const = 0;
};

// Samples held as two contiguous tensors whose first dimension is the sample index.
class TensorDataset final : public Dataset {
 public:
  // inputs: float32 [N, ...]; targets: int64 [N] or float32 [N] / [N, T] (a 1-D float32 target becomes
  // [N, 1]). Non-contiguous tensors are copied.
  TensorDataset(Tensor inputs, Tensor targets);

  std::int64_t size() const override { return inputs_.size(0); }
  Batch get_batch(std::span<const std::int64_t> indices) const override;

  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }
  // Shape of one input sample (inputs' shape without the first dimension).
  Shape sample_shape() const;
  bool is_classification() const { return targets_.dtype() == DType::Int64; }
  // 1 + the largest label (classification only).
  std::int64_t num_classes() const;

  // A dataset holding copies of the samples at `indices`, in that order.
  TensorDataset subset(std::span<const std::int64_t> indices) const;
  // The same samples with each input flattened to one row: [N, prod(sample shape)] (shares storage).
  TensorDataset flattened() const;

 private:
  Tensor inputs_;
  Tensor targets_;
};

}  // namespace descent::data
