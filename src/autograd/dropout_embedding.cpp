// Dropout (inverted: survivors are scaled at training time so evaluation is the identity) and embedding
// lookup (a row gather whose gradient scatter-adds into the table).
#include <cmath>
#include <cstring>

#include "descent/autograd/functional.hpp"
#include "descent/autograd/ops.hpp"
#include "kernels.hpp"

namespace descent {

using namespace autograd::kernel;

Tensor dropout(const Tensor& input, double p, bool training, Generator& gen) {
  DESCENT_CHECK(input.defined(), "dropout: input is undefined");
  DESCENT_CHECK(p >= 0.0 && p < 1.0, "dropout: probability p=", p, " must lie in [0, 1)");
  if (!training || p == 0.0) return input;
  return dispatch_floating(input.dtype(), "dropout", [&](auto zero) {
    using T = decltype(zero);
    // The mask holds the factor each element is multiplied by: 0 or 1 / (1 - p).
    Tensor mask = empty(input.shape(), input.dtype());
    T* m = mask.data<T>();
    const T keep_scale = T(1.0 / (1.0 - p));
    for (std::int64_t i = 0; i < mask.numel(); ++i) m[i] = gen.uniform() < p ? T(0) : keep_scale;
    Tensor out = map2<T>(input, mask, "dropout", [](T x, T factor) { return x * factor; });
    if (autograd::needs_grad(input)) {
      record(out, "DropoutBackward", {&input}, [mask](const Tensor& grad_out, std::span<Tensor> grads) {
        grads[0] = map2<T>(grad_out, mask, "dropout", [](T g, T factor) { return g * factor; });
      });
    }
    return out;
  });
}

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx) {
  DESCENT_CHECK(indices.defined() && weight.defined(), "embedding: indices or weight is undefined");
  DESCENT_CHECK(indices.dtype() == DType::Int64, "embedding: indices must be int64, got ", dtype_name(indices.dtype()),
                " of shape ", indices.shape());
  DESCENT_CHECK(weight.dim() == 2, "embedding: weight must be 2-D [num_embeddings, embedding_dim], got shape ",
                weight.shape());
  const std::int64_t num = weight.shape()[0], dim = weight.shape()[1];
  std::optional<std::int64_t> padding_row;
  if (padding_idx) {
    DESCENT_CHECK(*padding_idx >= -num && *padding_idx < num, "embedding: padding_idx=", *padding_idx,
                  " out of range for num_embeddings=", num, " (expected [", -num, ", ", num, "))");
    padding_row = *padding_idx < 0 ? *padding_idx + num : *padding_idx;
  }
  DESCENT_CHECK(indices.dim() < Shape::kMaxDims, "embedding: indices of shape ", indices.shape(),
                " have too many dimensions (at most ", Shape::kMaxDims - 1, ")");
  const Tensor idx = indices.contiguous_copy().detach();
  const std::int64_t* ip = idx.data<std::int64_t>();
  const std::int64_t lookups = idx.numel();
  for (std::int64_t i = 0; i < lookups; ++i)
    DESCENT_CHECK(ip[i] >= 0 && ip[i] < num, "embedding: index ", ip[i], " at flat position ", i, " of indices shape ",
                  indices.shape(), " is out of range for num_embeddings=", num, " (expected [0, ", num, "))");
  Shape out_shape = indices.shape();
  out_shape.push_back(dim);
  return dispatch_floating(weight.dtype(), "embedding", [&](auto zero) {
    using T = decltype(zero);
    Tensor out = empty(out_shape, weight.dtype());
    T* o = out.data<T>();
    const T* table = storage_base<T>(weight);
    const std::int64_t row_stride = weight.strides()[0], col_stride = weight.strides()[1];
    for (std::int64_t i = 0; i < lookups; ++i) {
      const T* row = table + weight.offset() + ip[i] * row_stride;
      T* dst = o + i * dim;
      if (col_stride == 1) {
        if (dim > 0) std::memcpy(dst, row, std::size_t(dim) * sizeof(T));
      } else {
        for (std::int64_t j = 0; j < dim; ++j) dst[j] = row[j * col_stride];
      }
    }
    if (autograd::needs_grad(weight)) {
      record(out, "EmbeddingBackward", {&weight},
             [idx, num, dim, padding_row](const Tensor& grad_out, std::span<Tensor> grads) {
               const Tensor gy = grad_out.contiguous_copy();
               Tensor gw = zeros(Shape{num, dim}, gy.dtype());
               const T* g = gy.data<T>();
               T* gwp = gw.data<T>();
               const std::int64_t* rows = idx.data<std::int64_t>();
               // Sequential so that repeated indices add up in a fixed order.
               for (std::int64_t i = 0; i < idx.numel(); ++i) {
                 if (padding_row && rows[i] == *padding_row) continue;
                 T* dst = gwp + rows[i] * dim;
                 const T* src = g + i * dim;
                 for (std::int64_t j = 0; j < dim; ++j) dst[j] += src[j];
               }
               grads[0] = gw;
             });
    }
    return out;
  });
}

}  // namespace descent
