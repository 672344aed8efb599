#pragma once
// Elementwise traversal templates shared by the operations in this folder. Contiguous operands take a
// flat (vectorisable, threaded for large sizes) loop; others take a strided walk.
#include <cmath>
#include <optional>

#include "descent/autograd/node.hpp"
#include "descent/core/parallel.hpp"
#include "descent/core/strided.hpp"

namespace descent::autograd::kernel {

constexpr std::int64_t kParallelGrain = 1 << 15;

// The first element of t's storage, not of the view: strided walks add t.offset() themselves (as
// for_each_offset does). Tensor::data<T>() is the view's first element.
template <class T>
const T* storage_base(const Tensor& t) {
  return static_cast<const T*>(t.storage()->data());
}
template <class T>
T* mutable_storage_base(const Tensor& t) {
  return static_cast<T*>(t.storage()->data());
}

// Strides of `t` broadcast to `shape` (0 on expanded dimensions).
Shape broadcast_strides(const Tensor& t, const Shape& shape);

// out[i] = f(a[i]); out is a new contiguous tensor of a's shape and dtype.
template <class T, class F>
Tensor map1(const Tensor& a, F f) {
  Tensor out = empty(a.shape(), a.dtype());
  T* o = out.data<T>();
  if (a.is_contiguous()) {
    const T* x = a.data<T>();
    parallel_for(0, a.numel(), kParallelGrain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) o[i] = f(x[i]);
    });
  } else {
    const T* base = storage_base<T>(a);
    std::int64_t i = 0;
    for_each_offset(a.shape(), a.strides(), a.offset(), [&](std::int64_t off) { o[i++] = f(base[off]); });
  }
  return out;
}

// out[i] = f(a[i], b[i]) with a and b broadcast to a common shape.
template <class T, class F>
Tensor map2(const Tensor& a, const Tensor& b, const char* op, F f) {
  DESCENT_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", dtype_name(a.dtype()), " and ",
                dtype_name(b.dtype()), ")");
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
    Tensor out = empty(a.shape(), a.dtype());
    T* o = out.data<T>();
    const T* x = a.data<T>();
    const T* y = b.data<T>();
    parallel_for(0, a.numel(), kParallelGrain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) o[i] = f(x[i], y[i]);
    });
    return out;
  }
  const Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = empty(shape, a.dtype());
  T* o = out.data<T>();
  if (b.numel() == 1 && a.is_contiguous() && a.shape() == shape) {
    const T* x = a.data<T>();
    const T y = *b.data<T>();
    for (std::int64_t i = 0; i < out.numel(); ++i) o[i] = f(x[i], y);
    return out;
  }
  if (a.numel() == 1 && b.is_contiguous() && b.shape() == shape) {
    const T x = *a.data<T>();
    const T* y = b.data<T>();
    for (std::int64_t i = 0; i < out.numel(); ++i) o[i] = f(x, y[i]);
    return out;
  }
  // Row broadcast: a is a contiguous [rows, n] (flattened) and b a contiguous vector of the last n.
  if (a.is_contiguous() && a.shape() == shape && b.is_contiguous() && b.dim() >= 1 &&
      b.numel() == shape.back() && shape.size() >= 1) {
    const std::int64_t n = shape.back(), rows = out.numel() / std::max<std::int64_t>(n, 1);
    const T* x = a.data<T>();
    const T* y = b.data<T>();
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < n; ++j) o[r * n + j] = f(x[r * n + j], y[j]);
    return out;
  }
  const Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
  const T* xa = storage_base<T>(a);
  const T* xb = storage_base<T>(b);
  const Shape so = out.strides();
  for_each_offset3(shape, so, 0, sa, a.offset(), sb, b.offset(),
                   [&](std::int64_t io, std::int64_t ia, std::int64_t ib) { o[io] = f(xa[ia], xb[ib]); });
  return out;
}

// out[i] = f(a[i], b[i], c[i]) for three tensors of one shape (used by backward passes).
template <class T, class F>
Tensor map3(const Tensor& a, const Tensor& b, const Tensor& c, F f) {
  Tensor out = empty(a.shape(), a.dtype());
  T* o = out.data<T>();
  if (a.is_contiguous() && b.is_contiguous() && c.is_contiguous()) {
    const T* x = a.data<T>();
    const T* y = b.data<T>();
    const T* z = c.data<T>();
    parallel_for(0, a.numel(), kParallelGrain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) o[i] = f(x[i], y[i], z[i]);
    });
    return out;
  }
  Tensor ac = a.contiguous_copy(), bc = b.contiguous_copy(), cc = c.contiguous_copy();
  return map3<T>(ac, bc, cc, f);
}

// out[i] = f(a[i], b[i], c[i], d[i]) for four tensors of one shape.
template <class T, class F>
Tensor map4(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& d, F f) {
  if (!(a.is_contiguous() && b.is_contiguous() && c.is_contiguous() && d.is_contiguous())) {
    return map4<T>(a.contiguous_copy(), b.contiguous_copy(), c.contiguous_copy(), d.contiguous_copy(), f);
  }
  Tensor out = empty(a.shape(), a.dtype());
  T* o = out.data<T>();
  const T* w = a.data<T>();
  const T* x = b.data<T>();
  const T* y = c.data<T>();
  const T* z = d.data<T>();
  parallel_for(0, a.numel(), kParallelGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) o[i] = f(w[i], x[i], y[i], z[i]);
  });
  return out;
}

// Records a backward node implemented by a lambda: fn(grad_output, grad_inputs). The lambda's
// captures (SavedTensors, sizes) are freed with release().
template <class F>
class FnNode final : public Node {
 public:
  FnNode(const char* name, F fn) : name_(name), fn_(std::move(fn)) {}
  void backward(const Tensor& grad_output, std::span<Tensor> grad_inputs) override {
    DESCENT_CHECK(fn_.has_value(), name_, ": backward called a second time on a freed graph; pass "
                  "retain_graph=true to the first backward");
    (*fn_)(grad_output, grad_inputs);
  }
  const char* name() const override { return name_; }
  void release() override { fn_.reset(); }

 private:
  const char* name_;
  std::optional<F> fn_;
};

template <class F>
void record(Tensor& out, const char* name, std::initializer_list<const Tensor*> inputs, F fn) {
  attach(out, std::make_shared<FnNode<F>>(name, std::move(fn)), inputs);
}

template <class F>
void record(Tensor& out, const char* name, std::span<const Tensor> inputs, F fn) {
  attach(out, std::make_shared<FnNode<F>>(name, std::move(fn)), inputs);
}

}  // namespace descent::autograd::kernel
