// Reductions (sum, mean, max, min, arg-max/min, var), softmax and log-softmax.
#include <algorithm>
#include <limits>

#include "descent/autograd/ops.hpp"
#include "kernels.hpp"

namespace descent {

using autograd::SavedTensor;
using autograd::needs_grad;
using namespace autograd::kernel;

namespace {

// The tensor viewed as [outer, extent, inner] around dimension `dim` (contiguous input).
struct Split3 {
  std::int64_t outer = 1, extent = 1, inner = 1;
};
Split3 split_around(const Shape& shape, int dim) {
  Split3 s;
  for (int i = 0; i < shape.size(); ++i) {
    if (i < dim) s.outer *= shape[i];
    else if (i == dim) s.extent = shape[i];
    else s.inner *= shape[i];
  }
  return s;
}

Shape reduced_shape(const Shape& shape, const std::vector<bool>& reduce, bool keepdim) {
  Shape out;
  for (int i = 0; i < shape.size(); ++i) {
    if (!reduce[std::size_t(i)]) out.push_back(shape[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

std::vector<bool> dims_mask(const std::vector<std::int64_t>& dims, int rank, const char* op) {
  std::vector<bool> mask(std::size_t(rank), dims.empty());
  for (auto d : dims) {
    const int w = wrap_dim(d, rank, op);
    DESCENT_CHECK(!mask[std::size_t(w)], op, ": dimension ", d, " given twice");
    mask[std::size_t(w)] = true;
  }
  return mask;
}

// Sums a contiguous tensor over the masked dimensions, one dimension at a time (keepdim shape).
template <class T>
Tensor sum_kernel(const Tensor& input, const std::vector<bool>& mask) {
  Tensor x = input.contiguous_copy();
  for (int d = 0; d < x.dim(); ++d) {
    if (!mask[std::size_t(d)] || x.shape()[d] == 1) continue;
    const Split3 s = split_around(x.shape(), d);
    Shape shape = x.shape();
    shape[d] = 1;
    Tensor out = zeros(shape, x.dtype());
    const T* in = x.data<T>();
    T* o = out.data<T>();
    if (s.inner == 1) {
      parallel_for(0, s.outer, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(s.extent, 1)),
                   [&](std::int64_t lo, std::int64_t hi) {
                     for (std::int64_t i = lo; i < hi; ++i) {
                       const T* row = in + i * s.extent;
                       T acc = 0;
                       for (std::int64_t r = 0; r < s.extent; ++r) acc += row[r];
                       o[i] = acc;
                     }
                   });
    } else {
      for (std::int64_t i = 0; i < s.outer; ++i) {
        T* dst = o + i * s.inner;
        for (std::int64_t r = 0; r < s.extent; ++r) {
          const T* src = in + (i * s.extent + r) * s.inner;
          for (std::int64_t j = 0; j < s.inner; ++j) dst[j] += src[j];
        }
      }
    }
    x = out;
  }
  return x;
}

Tensor reshape_nograd(const Tensor& t, const Shape& shape) {
  Tensor c = t.contiguous_copy();
  return as_strided(c, shape, contiguous_strides(shape), c.offset());
}

Tensor sum_impl(const Tensor& a, const std::vector<std::int64_t>& dims, bool keepdim, double scale,
                const char* op, const char* node) {
  DESCENT_CHECK(a.defined(), op, ": input tensor is undefined");
  const auto mask = dims_mask(dims, a.dim(), op);
  return dispatch_floating(a.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    Tensor kept = sum_kernel<T>(a, mask);
    if (scale != 1.0) {
      T* p = kept.data<T>();
      for (std::int64_t i = 0; i < kept.numel(); ++i) p[i] *= T(scale);
    }
    Tensor out = keepdim ? kept : reshape_nograd(kept, reduced_shape(a.shape(), mask, false));
    if (needs_grad(a)) {
      record(out, node, {&a},
             [input_shape = a.shape(), kept_shape = kept.shape(), scale](const Tensor& g, std::span<Tensor> grads) {
               Tensor gk = reshape_nograd(g, kept_shape);
               if (scale != 1.0) gk = mul(gk, scale);
               grads[0] = expand(gk, input_shape);
             });
    }
    return out;
  });
}

// Max or min along one dimension: values and int64 indices of the first extremum.
template <class T, bool kMax>
std::pair<Tensor, Tensor> extremum_along(const Tensor& input, int dim) {
  Tensor x = input.contiguous_copy();
  const Split3 s = split_around(x.shape(), dim);
  Shape shape = x.shape();
  shape[dim] = 1;
  Tensor values = empty(shape, x.dtype());
  Tensor indices = empty(shape, DType::Int64);
  const T* in = x.data<T>();
  T* v = values.data<T>();
  std::int64_t* idx = indices.data<std::int64_t>();
  DESCENT_CHECK(s.extent > 0, kMax ? "max" : "min", ": cannot reduce an empty dimension of shape ", x.shape());
  for (std::int64_t o = 0; o < s.outer; ++o) {
    for (std::int64_t j = 0; j < s.inner; ++j) {
      const T* p = in + o * s.extent * s.inner + j;
      T best = p[0];
      std::int64_t best_index = 0;
      for (std::int64_t r = 1; r < s.extent; ++r) {
        const T value = p[r * s.inner];
        // NaN propagates like torch.max: a NaN is the extremum.
        const bool better = kMax ? (value > best) : (value < best);
        if ((better || (value != value)) && !(best != best)) {
          best = value;
          best_index = r;
        }
      }
      v[o * s.inner + j] = best;
      idx[o * s.inner + j] = best_index;
    }
  }
  return {values, indices};
}

template <bool kMax>
Tensor extremum_dim(const Tensor& a, std::int64_t dim, bool keepdim, bool want_indices) {
  const char* op = kMax ? "max" : "min";
  DESCENT_CHECK(a.defined(), op, ": input tensor is undefined");
  const int d = wrap_dim(dim, a.dim(), op);
  if (a.dim() == 0) return want_indices ? zeros(Shape{}, DType::Int64) : a;
  std::vector<bool> mask(std::size_t(a.dim()), false);
  mask[std::size_t(d)] = true;
  const Shape out_shape = reduced_shape(a.shape(), mask, keepdim);
  return dispatch_floating(a.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    auto extremum = extremum_along<T, kMax>(a, d);
    Tensor values = extremum.first, indices = extremum.second;
    if (want_indices) return reshape_nograd(indices, out_shape);
    Tensor out = reshape_nograd(values, out_shape);
    if (needs_grad(a)) {
      record(out, kMax ? "MaxBackward" : "MinBackward", {&a},
             [input_shape = a.shape(), kept = values.shape(), indices, d](const Tensor& g, std::span<Tensor> grads) {
               Tensor gk = reshape_nograd(g, kept).contiguous_copy();
               Tensor gx = zeros(input_shape, gk.dtype());
               const Split3 s = split_around(input_shape, d);
               const T* gp = gk.data<T>();
               const std::int64_t* ip = indices.template data<std::int64_t>();
               T* out_p = gx.data<T>();
               for (std::int64_t o = 0; o < s.outer; ++o)
                 for (std::int64_t j = 0; j < s.inner; ++j)
                   out_p[(o * s.extent + ip[o * s.inner + j]) * s.inner + j] = gp[o * s.inner + j];
               grads[0] = gx;
             });
    }
    return out;
  });
}

template <bool kMax>
Tensor extremum_all(const Tensor& a) {
  const char* op = kMax ? "max" : "min";
  DESCENT_CHECK(a.defined() && a.numel() > 0, op, ": expected a non-empty tensor");
  return dispatch_floating(a.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    Tensor x = a.contiguous_copy();
    const T* p = x.data<T>();
    T best = p[0];
    for (std::int64_t i = 1; i < x.numel(); ++i) {
      if (best != best) break;
      if ((kMax ? p[i] > best : p[i] < best) || p[i] != p[i]) best = p[i];
    }
    Tensor out = scalar_tensor(double(best), a.dtype());
    if (needs_grad(a)) {
      record(out, kMax ? "MaxAllBackward" : "MinAllBackward", {&a},
             [xs = SavedTensor(x), best](const Tensor& g, std::span<Tensor> grads) {
               const Tensor& xv = xs.unpack("max");
               const T* q = xv.data<T>();
               std::int64_t ties = 0;
               for (std::int64_t i = 0; i < xv.numel(); ++i) ties += q[i] == best;
               const T share = g.item<T>() / T(std::max<std::int64_t>(ties, 1));
               Tensor gx = zeros(xv.shape(), xv.dtype());
               T* o = gx.data<T>();
               for (std::int64_t i = 0; i < xv.numel(); ++i) o[i] = q[i] == best ? share : T(0);
               grads[0] = gx;
             });
    }
    return out;
  });
}

template <bool kLog>
Tensor softmax_impl(const Tensor& a, std::int64_t dim) {
  const char* op = kLog ? "log_softmax" : "softmax";
  DESCENT_CHECK(a.defined(), op, ": input tensor is undefined");
  const int d = wrap_dim(dim, a.dim(), op);
  return dispatch_floating(a.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    Tensor x = a.contiguous_copy();
    Tensor out = empty(x.shape(), x.dtype());
    const Split3 s = a.dim() == 0 ? Split3{} : split_around(x.shape(), d);
    const T* in = x.data<T>();
    T* o = out.data<T>();
    parallel_for(0, s.outer, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(s.extent * s.inner, 1)),
                 [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t oi = lo; oi < hi; ++oi) {
        for (std::int64_t j = 0; j < s.inner; ++j) {
          const T* p = in + oi * s.extent * s.inner + j;
          T* q = o + oi * s.extent * s.inner + j;
          T m = -std::numeric_limits<T>::infinity();
          for (std::int64_t r = 0; r < s.extent; ++r) m = std::max(m, p[r * s.inner]);
          if (m == -std::numeric_limits<T>::infinity()) m = 0;
          T total = 0;
          for (std::int64_t r = 0; r < s.extent; ++r) total += std::exp(p[r * s.inner] - m);
          if constexpr (kLog) {
            const T log_total = std::log(total) + m;
            for (std::int64_t r = 0; r < s.extent; ++r) q[r * s.inner] = p[r * s.inner] - log_total;
          } else {
            const T inv = T(1) / total;
            for (std::int64_t r = 0; r < s.extent; ++r) q[r * s.inner] = std::exp(p[r * s.inner] - m) * inv;
          }
        }
      }
    });
    if (needs_grad(a)) {
      record(out, kLog ? "LogSoftmaxBackward" : "SoftmaxBackward", {&a},
             [y = SavedTensor(out.detach()), s](const Tensor& g_in, std::span<Tensor> grads) {
               const Tensor& ys = y.unpack("softmax");
               Tensor g = g_in.contiguous_copy();
               Tensor gx = empty(ys.shape(), ys.dtype());
               const T* yp = ys.data<T>();
               const T* gp = g.data<T>();
               T* go = gx.data<T>();
               for (std::int64_t oi = 0; oi < s.outer; ++oi) {
                 for (std::int64_t j = 0; j < s.inner; ++j) {
                   const std::int64_t base = oi * s.extent * s.inner + j;
                   T dot = 0;
                   for (std::int64_t r = 0; r < s.extent; ++r) {
                     const std::int64_t k = base + r * s.inner;
                     dot += kLog ? gp[k] : gp[k] * yp[k];
                   }
                   for (std::int64_t r = 0; r < s.extent; ++r) {
                     const std::int64_t k = base + r * s.inner;
                     go[k] = kLog ? gp[k] - std::exp(yp[k]) * dot : yp[k] * (gp[k] - dot);
                   }
                 }
               }
               grads[0] = gx;
             });
    }
    return out;
  });
}

}  // namespace

Tensor sum(const Tensor& a) { return sum_impl(a, {}, false, 1.0, "sum", "SumBackward"); }
Tensor sum(const Tensor& a, const std::vector<std::int64_t>& dims, bool keepdim) {
  return sum_impl(a, dims, keepdim, 1.0, "sum", "SumBackward");
}

Tensor mean(const Tensor& a) { return mean(a, {}, false); }
Tensor mean(const Tensor& a, const std::vector<std::int64_t>& dims, bool keepdim) {
  DESCENT_CHECK(a.defined(), "mean: input tensor is undefined");
  const auto mask = dims_mask(dims, a.dim(), "mean");
  std::int64_t count = 1;
  for (int i = 0; i < a.dim(); ++i)
    if (mask[std::size_t(i)]) count *= a.shape()[i];
  DESCENT_CHECK(count > 0, "mean: cannot average over an empty dimension of shape ", a.shape());
  return sum_impl(a, dims, keepdim, 1.0 / double(count), "mean", "MeanBackward");
}

Tensor max(const Tensor& a) { return extremum_all<true>(a); }
Tensor min(const Tensor& a) { return extremum_all<false>(a); }
Tensor max(const Tensor& a, std::int64_t dim, bool keepdim) { return extremum_dim<true>(a, dim, keepdim, false); }
Tensor min(const Tensor& a, std::int64_t dim, bool keepdim) { return extremum_dim<false>(a, dim, keepdim, false); }
Tensor argmax(const Tensor& a, std::int64_t dim, bool keepdim) { return extremum_dim<true>(a, dim, keepdim, true); }
Tensor argmin(const Tensor& a, std::int64_t dim, bool keepdim) { return extremum_dim<false>(a, dim, keepdim, true); }

Tensor var(const Tensor& a, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) {
  DESCENT_CHECK(a.defined(), "var: input tensor is undefined");
  const auto mask = dims_mask(dims, a.dim(), "var");
  std::int64_t count = 1;
  for (int i = 0; i < a.dim(); ++i)
    if (mask[std::size_t(i)]) count *= a.shape()[i];
  DESCENT_CHECK(count - correction > 0, "var: ", count, " elements with correction ", correction,
                " leave no degrees of freedom");
  Tensor centered = sub(a, mean(a, dims, true));
  return mul(sum(mul(centered, centered), dims, keepdim), 1.0 / double(count - correction));
}

Tensor softmax(const Tensor& a, std::int64_t dim) { return softmax_impl<false>(a, dim); }
Tensor log_softmax(const Tensor& a, std::int64_t dim) { return softmax_impl<true>(a, dim); }

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int lead = grad.dim() - shape.size();
  DESCENT_CHECK(lead >= 0, "sum_to: cannot reduce shape ", grad.shape(), " to ", shape);
  std::vector<std::int64_t> dims;
  for (int i = 0; i < grad.dim(); ++i) {
    const int j = i - lead;
    if (j < 0 || (shape[j] == 1 && grad.shape()[i] != 1)) dims.push_back(i);
    else DESCENT_CHECK(shape[j] == grad.shape()[i], "sum_to: cannot reduce shape ", grad.shape(), " to ", shape);
  }
  if (dims.empty()) return reshape(grad, shape);
  return reshape(sum(grad, dims, true), shape);
}

}  // namespace descent
