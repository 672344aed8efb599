// Views and shape operations. Views share storage with their input; gradients flow back to it.
#include <algorithm>
#include <numeric>

#include "descent/autograd/ops.hpp"
#include "kernels.hpp"

namespace descent {

using namespace autograd::kernel;

namespace {

Tensor make_view(const Tensor& a, const Shape& shape, const Shape& strides, std::int64_t offset) {
  return as_strided(a, shape, strides, offset);
}

// Strides for viewing `a` as `shape` without a copy, or an empty optional when impossible
// (the algorithm of torch's computeStride: split/merge only within contiguous chunks).
std::optional<Shape> view_strides(const Tensor& a, const Shape& shape) {
  if (a.is_contiguous()) return contiguous_strides(shape);
  const Shape& old_shape = a.shape();
  const Shape& old_strides = a.strides();
  Shape strides;
  strides.resize(shape.size());
  if (a.numel() == 0) return contiguous_strides(shape);
  int view_d = shape.size() - 1;
  std::int64_t chunk_base_stride = old_strides.size() ? old_strides.back() : 1;
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (int tensor_d = old_shape.size() - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[tensor_d];
    if (tensor_d == 0 || (old_shape[tensor_d - 1] != 1 &&
                          old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[tensor_d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

Shape infer_shape(const Shape& requested, std::int64_t numel, const char* op, const Shape& from) {
  Shape shape = requested;
  int infer = -1;
  std::int64_t known = 1;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      DESCENT_CHECK(infer < 0, op, ": only one dimension can be -1, got ", requested);
      infer = i;
    } else {
      DESCENT_CHECK(shape[i] >= 0, op, ": invalid extent ", shape[i], " in ", requested);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    DESCENT_CHECK(known > 0 && numel % known == 0, op, ": cannot reshape ", from, " (", numel,
                  " elements) to ", requested);
    shape[infer] = numel / known;
  }
  DESCENT_CHECK(shape.numel() == numel, op, ": cannot reshape ", from, " (", numel, " elements) to ",
                requested, " (", shape.numel(), " elements)");
  return shape;
}

// Records the gradient of a reshape-like view: grad reshaped back to the input shape.
void record_reshape(Tensor& out, const Tensor& a, const char* node) {
  if (!autograd::needs_grad(a)) return;
  record(out, node, {&a}, [shape = a.shape()](const Tensor& g, std::span<Tensor> grads) {
    grads[0] = reshape(g, shape);
  });
}

}  // namespace

Tensor view(const Tensor& a, const Shape& requested) {
  const Shape shape = infer_shape(requested, a.numel(), "view", a.shape());
  auto strides = view_strides(a, shape);
  DESCENT_CHECK(strides.has_value(), "view: a tensor of shape ", a.shape(), " with strides ", a.strides(),
                " cannot be viewed as ", shape, "; use reshape()");
  Tensor out = make_view(a, shape, *strides, a.offset());
  record_reshape(out, a, "ViewBackward");
  return out;
}

Tensor reshape(const Tensor& a, const Shape& requested) {
  const Shape shape = infer_shape(requested, a.numel(), "reshape", a.shape());
  if (auto strides = view_strides(a, shape)) {
    Tensor out = make_view(a, shape, *strides, a.offset());
    record_reshape(out, a, "ReshapeBackward");
    return out;
  }
  return view(contiguous(a), shape);
}

Tensor flatten(const Tensor& a, std::int64_t start_dim, std::int64_t end_dim) {
  if (a.dim() == 0) return reshape(a, Shape{1});
  const int s = wrap_dim(start_dim, a.dim(), "flatten"), e = wrap_dim(end_dim, a.dim(), "flatten");
  DESCENT_CHECK(s <= e, "flatten: start_dim ", start_dim, " is after end_dim ", end_dim);
  Shape shape;
  for (int i = 0; i < s; ++i) shape.push_back(a.shape()[i]);
  std::int64_t merged = 1;
  for (int i = s; i <= e; ++i) merged *= a.shape()[i];
  shape.push_back(merged);
  for (int i = e + 1; i < a.dim(); ++i) shape.push_back(a.shape()[i]);
  return reshape(a, shape);
}

Tensor permute(const Tensor& a, const std::vector<std::int64_t>& dims) {
  DESCENT_CHECK(int(dims.size()) == a.dim(), "permute: ", dims.size(), " dimensions given for a ", a.dim(),
                "-D tensor");
  Shape shape, strides;
  std::vector<std::int64_t> inverse(dims.size(), -1);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const int d = wrap_dim(dims[i], a.dim(), "permute");
    DESCENT_CHECK(inverse[std::size_t(d)] < 0, "permute: dimension ", dims[i], " repeated");
    inverse[std::size_t(d)] = std::int64_t(i);
    shape.push_back(a.shape()[d]);
    strides.push_back(a.strides()[d]);
  }
  Tensor out = make_view(a, shape, strides, a.offset());
  if (autograd::needs_grad(a)) {
    record(out, "PermuteBackward", {&a},
           [inverse](const Tensor& g, std::span<Tensor> grads) { grads[0] = permute(g, inverse); });
  }
  return out;
}

Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1) {
  if (a.dim() == 0) return a;
  const int d0 = wrap_dim(dim0, a.dim(), "transpose"), d1 = wrap_dim(dim1, a.dim(), "transpose");
  Shape shape = a.shape(), strides = a.strides();
  std::swap(shape[d0], shape[d1]);
  std::swap(strides[d0], strides[d1]);
  Tensor out = make_view(a, shape, strides, a.offset());
  if (autograd::needs_grad(a)) {
    record(out, "TransposeBackward", {&a},
           [d0, d1](const Tensor& g, std::span<Tensor> grads) { grads[0] = transpose(g, d0, d1); });
  }
  return out;
}

Tensor slice(const Tensor& a, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  const int d = wrap_dim(dim, a.dim(), "slice");
  DESCENT_CHECK(step > 0, "slice: step must be positive, got ", step);
  const std::int64_t n = a.shape()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape shape = a.shape(), strides = a.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  Tensor out = make_view(a, shape, strides, a.offset() + start * a.strides()[d]);
  if (autograd::needs_grad(a)) {
    record(out, "SliceBackward", {&a},
           [input_shape = a.shape(), d, start, end, step](const Tensor& g, std::span<Tensor> grads) {
             Tensor gx = zeros(input_shape, g.dtype());
             slice(gx, d, start, end, step).copy_(g);
             grads[0] = gx;
           });
  }
  return out;
}

Tensor narrow(const Tensor& a, std::int64_t dim, std::int64_t start, std::int64_t length) {
  const int d = wrap_dim(dim, a.dim(), "narrow");
  if (start < 0) start += a.shape()[d];
  DESCENT_CHECK(start >= 0 && length >= 0 && start + length <= a.shape()[d], "narrow: start ", start,
                " and length ", length, " exceed dimension ", dim, " of size ", a.shape()[d]);
  return slice(a, d, start, start + length);
}

Tensor select(const Tensor& a, std::int64_t dim, std::int64_t index) {
  const int d = wrap_dim(dim, a.dim(), "select");
  const std::int64_t n = a.shape()[d];
  DESCENT_CHECK(index >= -n && index < n, "select: index ", index, " out of range for dimension ", dim,
                " of size ", n);
  if (index < 0) index += n;
  return squeeze(slice(a, d, index, index + 1), d);
}

Tensor squeeze(const Tensor& a, std::int64_t dim) {
  if (a.dim() == 0) return a;
  const int d = wrap_dim(dim, a.dim(), "squeeze");
  if (a.shape()[d] != 1) return a;
  Shape shape = a.shape(), strides = a.strides();
  shape.erase(d);
  strides.erase(d);
  Tensor out = make_view(a, shape, strides, a.offset());
  record_reshape(out, a, "SqueezeBackward");
  return out;
}

Tensor squeeze(const Tensor& a) {
  Shape shape, strides;
  for (int i = 0; i < a.dim(); ++i) {
    if (a.shape()[i] == 1) continue;
    shape.push_back(a.shape()[i]);
    strides.push_back(a.strides()[i]);
  }
  Tensor out = make_view(a, shape, strides, a.offset());
  record_reshape(out, a, "SqueezeBackward");
  return out;
}

Tensor unsqueeze(const Tensor& a, std::int64_t dim) {
  const int d = wrap_dim(dim, a.dim() + 1, "unsqueeze");
  Shape shape = a.shape(), strides = a.strides();
  const std::int64_t stride = d < a.dim() ? a.strides()[d] * a.shape()[d] : 1;
  shape.insert(d, 1);
  strides.insert(d, stride);
  Tensor out = make_view(a, shape, strides, a.offset());
  record_reshape(out, a, "UnsqueezeBackward");
  return out;
}

Tensor expand(const Tensor& a, const Shape& requested) {
  DESCENT_CHECK(requested.size() >= a.dim(), "expand: cannot expand shape ", a.shape(), " to ", requested);
  Shape shape = requested, strides;
  strides.resize(requested.size());
  const int lead = requested.size() - a.dim();
  for (int i = 0; i < requested.size(); ++i) {
    const int j = i - lead;
    if (j < 0) {
      DESCENT_CHECK(requested[i] >= 0, "expand: new leading dimension ", i, " cannot be -1 in ", requested);
      strides[i] = 0;
      continue;
    }
    const std::int64_t have = a.shape()[j];
    if (requested[i] == -1) shape[i] = have;
    DESCENT_CHECK(have == shape[i] || have == 1, "expand: cannot expand shape ", a.shape(), " to ", requested,
                  " (dimension ", i, ": ", have, " to ", shape[i], ")");
    strides[i] = have == shape[i] ? a.strides()[j] : 0;
  }
  if (shape == a.shape()) return a;
  Tensor out = make_view(a, shape, strides, a.offset());
  if (autograd::needs_grad(a)) {
    record(out, "ExpandBackward", {&a},
           [input_shape = a.shape()](const Tensor& g, std::span<Tensor> grads) { grads[0] = sum_to(g, input_shape); });
  }
  return out;
}

Tensor contiguous(const Tensor& a) {
  if (a.is_contiguous()) return a;
  Tensor out = a.clone();
  if (autograd::needs_grad(a)) {
    record(out, "ContiguousBackward", {&a}, [](const Tensor& g, std::span<Tensor> grads) { grads[0] = g; });
  }
  return out;
}

Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  DESCENT_CHECK(!tensors.empty(), "concat: expected at least one tensor");
  const Tensor& first = tensors.front();
  const int d = wrap_dim(dim, first.dim(), "concat");
  Shape shape = first.shape();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    DESCENT_CHECK(t.dim() == first.dim() && t.dtype() == first.dtype(), "concat: tensor ", i, " has shape ",
                  t.shape(), " (", dtype_name(t.dtype()), "), expected rank ", first.dim(), " and ",
                  dtype_name(first.dtype()));
    for (int k = 0; k < first.dim(); ++k)
      DESCENT_CHECK(k == d || t.shape()[k] == first.shape()[k], "concat: tensor ", i, " has shape ", t.shape(),
                    ", expected ", first.shape(), " except in dimension ", d);
    total += t.shape()[d];
  }
  shape[d] = total;
  Tensor out = empty(shape, first.dtype());
  std::vector<std::int64_t> sizes;
  {
    NoGradGuard guard;
    std::int64_t at = 0;
    for (const Tensor& t : tensors) {
      slice(out, d, at, at + t.shape()[d]).copy_(t);
      sizes.push_back(t.shape()[d]);
      at += t.shape()[d];
    }
  }
  bool any = false;
  for (const Tensor& t : tensors) any = any || autograd::needs_grad(t);
  if (any) {
    record(out, "ConcatBackward", std::span<const Tensor>(tensors),
           [sizes, d](const Tensor& g, std::span<Tensor> grads) {
             std::int64_t at = 0;
             for (std::size_t i = 0; i < sizes.size(); ++i) {
               grads[i] = slice(g, d, at, at + sizes[i]);
               at += sizes[i];
             }
           });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  DESCENT_CHECK(!tensors.empty(), "stack: expected at least one tensor");
  const int d = wrap_dim(dim, tensors.front().dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    DESCENT_CHECK(tensors[i].shape() == tensors.front().shape(), "stack: tensor ", i, " has shape ",
                  tensors[i].shape(), ", expected ", tensors.front().shape());
    expanded.push_back(unsqueeze(tensors[i], d));
  }
  return concat(expanded, d);
}

Tensor index_select(const Tensor& a, std::int64_t dim, const Tensor& index) {
  DESCENT_CHECK(index.dtype() == DType::Int64 && index.dim() <= 1, "index_select: index must be a 1-D int64 "
                "tensor, got shape ", index.shape(), " (", dtype_name(index.dtype()), ")");
  const int d = wrap_dim(dim, a.dim(), "index_select");
  const auto idx = index.to_vector<std::int64_t>();
  const std::int64_t n = a.shape()[d];
  for (auto i : idx)
    DESCENT_CHECK(i >= 0 && i < n, "index_select: index ", i, " out of range for dimension ", dim, " of size ", n);
  Shape shape = a.shape();
  shape[d] = std::int64_t(idx.size());
  Tensor out = empty(shape, a.dtype());
  {
    NoGradGuard guard;
    for (std::size_t k = 0; k < idx.size(); ++k) select(out, d, std::int64_t(k)).copy_(select(a, d, idx[k]));
  }
  if (autograd::needs_grad(a)) {
    record(out, "IndexSelectBackward", {&a}, [input_shape = a.shape(), idx, d](const Tensor& g, std::span<Tensor> grads) {
      Tensor gx = zeros(input_shape, g.dtype());
      for (std::size_t k = 0; k < idx.size(); ++k) {
        Tensor row = select(gx, d, idx[k]);
        add_(row, select(g, d, std::int64_t(k)));
      }
      grads[0] = gx;
    });
  }
  return out;
}

std::vector<Tensor> chunk(const Tensor& a, std::int64_t chunks, std::int64_t dim) {
  DESCENT_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
  const int d = wrap_dim(dim, a.dim(), "chunk");
  const std::int64_t n = a.shape()[d];
  const std::int64_t size = (n + chunks - 1) / chunks;
  std::vector<Tensor> out;
  for (std::int64_t at = 0; at < n; at += size) out.push_back(slice(a, d, at, std::min(n, at + size)));
  return out;
}

}  // namespace descent
