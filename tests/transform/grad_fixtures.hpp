#pragma once
// Parameters with gradients for the transform tests: loose tensors, views into one gradient arena (as a
// built model has), and non-contiguous gradients.
#include <cstdint>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

namespace descent::transform::testing {

inline Tensor param_with_grad(const Tensor& grad) {
  Tensor param = zeros(grad.shape(), grad.dtype());
  param.set_grad(grad);
  return param;
}

// Gradients of the given shapes laid out back to back in one arena; params[i].grad() views it.
struct ArenaModel {
  Tensor arena;
  std::vector<Tensor> params;
};

inline ArenaModel arena_model(const std::vector<Shape>& shapes, DType dtype, Generator& gen, double std = 1.0) {
  std::int64_t total = 0;
  for (const Shape& shape : shapes) total += shape.numel();
  ArenaModel model{randn(Shape{total}, gen, dtype, 0.0, std), {}};
  std::int64_t offset = 0;
  for (const Shape& shape : shapes) {
    model.params.push_back(param_with_grad(as_strided(model.arena, shape, contiguous_strides(shape), offset)));
    offset += shape.numel();
  }
  return model;
}

// A (rows, cols) gradient that is the transpose of a contiguous (cols, rows) buffer: not contiguous.
inline Tensor transposed_grad(std::int64_t rows, std::int64_t cols, DType dtype, Generator& gen) {
  Tensor base = randn(Shape{cols, rows}, gen, dtype);
  return as_strided(base, Shape{rows, cols}, Shape{1, rows}, 0);
}

inline std::vector<double> grad_values(const std::vector<Tensor>& params) {
  std::vector<double> values;
  for (const Tensor& param : params) {
    if (!param.grad().defined()) continue;
    const auto v = param.grad().to_vector<double>();
    values.insert(values.end(), v.begin(), v.end());
  }
  return values;
}

}  // namespace descent::transform::testing
