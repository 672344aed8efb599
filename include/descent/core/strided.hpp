#pragma once
// Element traversal of strided tensors in row-major order.
#include <cstdint>

#include "descent/core/shape.hpp"

namespace descent {

// Calls fn(offset) for every element of a tensor with this geometry, in row-major order.
template <class Fn>
void for_each_offset(const Shape& shape, const Shape& strides, std::int64_t offset, Fn&& fn) {
  const int rank = shape.size();
  if (shape.numel() == 0) return;
  if (rank == 0) { fn(offset); return; }
  std::int64_t index[Shape::kMaxDims] = {};
  const std::int64_t inner = shape[rank - 1], inner_stride = strides[rank - 1];
  std::int64_t base = offset;
  for (;;) {
    for (std::int64_t i = 0; i < inner; ++i) fn(base + i * inner_stride);
    int d = rank - 2;
    for (; d >= 0; --d) {
      base += strides[d];
      if (++index[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

// Two tensors of the same shape traversed together: fn(offset_a, offset_b).
template <class Fn>
void for_each_offset2(const Shape& shape, const Shape& strides_a, std::int64_t offset_a,
                      const Shape& strides_b, std::int64_t offset_b, Fn&& fn) {
  const int rank = shape.size();
  if (shape.numel() == 0) return;
  if (rank == 0) { fn(offset_a, offset_b); return; }
  std::int64_t index[Shape::kMaxDims] = {};
  const std::int64_t inner = shape[rank - 1], sa = strides_a[rank - 1], sb = strides_b[rank - 1];
  std::int64_t a = offset_a, b = offset_b;
  for (;;) {
    for (std::int64_t i = 0; i < inner; ++i) fn(a + i * sa, b + i * sb);
    int d = rank - 2;
    for (; d >= 0; --d) {
      a += strides_a[d];
      b += strides_b[d];
      if (++index[d] < shape[d]) break;
      a -= strides_a[d] * shape[d];
      b -= strides_b[d] * shape[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

// Three tensors of the same shape: fn(offset_a, offset_b, offset_c).
template <class Fn>
void for_each_offset3(const Shape& shape, const Shape& strides_a, std::int64_t offset_a,
                      const Shape& strides_b, std::int64_t offset_b, const Shape& strides_c,
                      std::int64_t offset_c, Fn&& fn) {
  const int rank = shape.size();
  if (shape.numel() == 0) return;
  if (rank == 0) { fn(offset_a, offset_b, offset_c); return; }
  std::int64_t index[Shape::kMaxDims] = {};
  const std::int64_t inner = shape[rank - 1];
  const std::int64_t sa = strides_a[rank - 1], sb = strides_b[rank - 1], sc = strides_c[rank - 1];
  std::int64_t a = offset_a, b = offset_b, c = offset_c;
  for (;;) {
    for (std::int64_t i = 0; i < inner; ++i) fn(a + i * sa, b + i * sb, c + i * sc);
    int d = rank - 2;
    for (; d >= 0; --d) {
      a += strides_a[d];
      b += strides_b[d];
      c += strides_c[d];
      if (++index[d] < shape[d]) break;
      a -= strides_a[d] * shape[d];
      b -= strides_b[d] * shape[d];
      c -= strides_c[d] * shape[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace descent
