#include "descent/data/dataset.hpp"

#include <algorithm>
#include <cstring>

#include "descent/core/error.hpp"

namespace descent::data {

namespace {
// Bytes of one sample of `t` (all dimensions but the first).
std::size_t row_bytes(const Tensor& t) {
  std::int64_t n = 1;
  for (int d = 1; d < t.dim(); ++d) n *= t.shape()[d];
  return std::size_t(n) * dtype_size(t.dtype());
}

// Copies the rows of `source` at `indices` into a new tensor of shape [indices.size(), ...].
Tensor gather_rows(const Tensor& source, std::span<const std::int64_t> indices, std::int64_t size) {
  Shape shape = source.shape();
  shape[0] = std::int64_t(indices.size());
  Tensor out = empty(shape, source.dtype());
  const std::size_t bytes = row_bytes(source);
  const auto* src = static_cast<const std::uint8_t*>(source.raw_data());
  auto* dst = static_cast<std::uint8_t*>(out.raw_data());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::int64_t row = indices[i];
    DESCENT_CHECK(row >= 0 && row < size, "TensorDataset: sample index ", row, " outside [0, ", size, ")");
    std::memcpy(dst + i * bytes, src + std::size_t(row) * bytes, bytes);
  }
  return out;
}
}  // namespace

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) {
  DESCENT_CHECK(inputs.defined() && targets.defined(), "TensorDataset: inputs and targets must be defined");
  DESCENT_CHECK(inputs.dim() >= 1 && inputs.dtype() == DType::Float32,
                "TensorDataset: inputs must be float32 [N, ...], got ", dtype_name(inputs.dtype()), " ",
                inputs.shape());
  DESCENT_CHECK((targets.dtype() == DType::Int64 && targets.dim() == 1) ||
                    (targets.dtype() == DType::Float32 && (targets.dim() == 1 || targets.dim() == 2)),
                "TensorDataset: targets must be int64 [N] or float32 [N] / [N, T], got ",
                dtype_name(targets.dtype()), " ", targets.shape());
  DESCENT_CHECK(inputs.size(0) == targets.size(0), "TensorDataset: ", inputs.size(0), " inputs but ",
                targets.size(0), " targets; expected the same count");
  inputs_ = inputs.contiguous_copy().detach();
  targets_ = targets.contiguous_copy().detach();
  if (targets_.dtype() == DType::Float32 && targets_.dim() == 1)
    targets_ = as_strided(targets_, Shape{targets_.size(0), 1}, Shape{1, 1}, targets_.offset());
}

Batch TensorDataset::get_batch(std::span<const std::int64_t> indices) const {
  Batch batch;
  batch.inputs = gather_rows(inputs_, indices, size());
  batch.targets = gather_rows(targets_, indices, size());
  return batch;
}

Shape TensorDataset::sample_shape() const {
  Shape shape = inputs_.shape();
  shape.erase(0);
  return shape;
}

std::int64_t TensorDataset::num_classes() const {
  DESCENT_CHECK(is_classification(), "TensorDataset::num_classes: targets are float32 regression values, "
                "expected int64 class labels");
  const auto* labels = targets_.data<std::int64_t>();
  std::int64_t largest = -1;
  for (std::int64_t i = 0; i < size(); ++i) largest = std::max(largest, labels[i]);
  return largest + 1;
}

TensorDataset TensorDataset::subset(std::span<const std::int64_t> indices) const {
  return TensorDataset(gather_rows(inputs_, indices, size()), gather_rows(targets_, indices, size()));
}

TensorDataset TensorDataset::flattened() const {
  const std::int64_t row = size() == 0 ? sample_shape().numel() : inputs_.numel() / size();
  Tensor flat = as_strided(inputs_, Shape{size(), row}, Shape{row, 1}, inputs_.offset());
  return TensorDataset(flat, targets_);
}

}  // namespace descent::data
