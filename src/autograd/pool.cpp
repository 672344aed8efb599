// 2-D max and average pooling over the last two dimensions, with PyTorch's window arithmetic
// (torch/csrc aten/native/Pool.h pooling_output_shape and the CPU kernels). Work is threaded over planes
// (one image channel each), which never share input or output elements.
#include <algorithm>
#include <cmath>
#include <limits>

#include "descent/autograd/autocast.hpp"
#include "descent/autograd/functional.hpp"
#include "descent/autograd/ops.hpp"
#include "descent/core/simd.hpp"
#include "kernels.hpp"

namespace descent {

using namespace autograd::kernel;

namespace {

struct PoolGeometry {
  std::int64_t planes = 0, height = 0, width = 0, out_h = 0, out_w = 0;
  Size2d kernel{1}, stride{1}, padding{0}, dilation{1};
  Shape out_shape;
};

// Output extent of one dimension; a ceil_mode window must start inside the input or its left padding.
std::int64_t pooled_extent(std::int64_t in, std::int64_t kernel, std::int64_t pad, std::int64_t stride,
                           std::int64_t dilation, bool ceil_mode) {
  const std::int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  std::int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

PoolGeometry check_pool(const char* op, const Tensor& input, Size2d kernel, std::optional<Size2d> stride,
                        Size2d padding, Size2d dilation, bool ceil_mode) {
  DESCENT_CHECK(input.defined(), op, ": input is undefined");
  DESCENT_CHECK(input.dim() == 3 || input.dim() == 4, op, ": expected input of shape [N, C, H, W] or [C, H, W], got ",
                input.shape());
  PoolGeometry g;
  g.kernel = kernel;
  g.stride = stride.value_or(kernel);
  g.padding = padding;
  g.dilation = dilation;
  DESCENT_CHECK(kernel.h > 0 && kernel.w > 0, op, ": kernel_size must be positive, got (", kernel.h, ", ", kernel.w,
                ")");
  DESCENT_CHECK(g.stride.h > 0 && g.stride.w > 0, op, ": stride must be positive, got (", g.stride.h, ", ", g.stride.w,
                ")");
  DESCENT_CHECK(dilation.h > 0 && dilation.w > 0, op, ": dilation must be positive, got (", dilation.h, ", ",
                dilation.w, ")");
  DESCENT_CHECK(padding.h >= 0 && padding.w >= 0 && padding.h <= kernel.h / 2 && padding.w <= kernel.w / 2, op,
                ": padding (", padding.h, ", ", padding.w, ") must be non-negative and at most half of kernel_size (",
                kernel.h, ", ", kernel.w, ")");
  const int rank = input.dim();
  g.height = input.shape()[rank - 2];
  g.width = input.shape()[rank - 1];
  g.planes = 1;
  for (int d = 0; d < rank - 2; ++d) g.planes *= input.shape()[d];
  g.out_h = pooled_extent(g.height, kernel.h, padding.h, g.stride.h, dilation.h, ceil_mode);
  g.out_w = pooled_extent(g.width, kernel.w, padding.w, g.stride.w, dilation.w, ceil_mode);
  DESCENT_CHECK(g.out_h >= 1 && g.out_w >= 1, op, ": input of shape ", input.shape(), " gives output size (",
                g.out_h, ", ", g.out_w, ") with kernel_size (", kernel.h, ", ", kernel.w, "), padding (", padding.h,
                ", ", padding.w, "), dilation (", dilation.h, ", ", dilation.w, "); the output would be empty");
  g.out_shape = input.shape();
  g.out_shape[rank - 2] = g.out_h;
  g.out_shape[rank - 1] = g.out_w;
  return g;
}

std::int64_t plane_grain(const PoolGeometry& g) {
  const std::int64_t work_per_plane = g.out_h * g.out_w * g.kernel.h * g.kernel.w;
  return std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(work_per_plane, 1));
}

// Values and flat in-plane indices of each window's maximum.
// take ? a : b through bit masks: the compiler keeps it free of branches, which on real data (where the
// running maximum changes unpredictably) cost more than the pooling itself.
template <class T>
T pick(bool take, T a, T b) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const Bits mask = Bits(0) - Bits(take);
  return __builtin_bit_cast(T, Bits((__builtin_bit_cast(Bits, a) & mask) | (__builtin_bit_cast(Bits, b) & ~mask)));
}

// One output row of a 2x2, stride-2 max pool: taps top left, top right, bottom left, bottom right (offsets
// 0, 1, width, width + 1 from the window's corner), a tap taken when greater than the best so far or NaN.
template <class T>
void pool_row_2x2(const T* DESCENT_RESTRICT top, std::int64_t width, std::int64_t out_w, std::int64_t base,
                  T* DESCENT_RESTRICT out, std::int64_t* DESCENT_RESTRICT argmax) {
  const T* DESCENT_RESTRICT bottom = top + width;
  for (std::int64_t ow = 0; ow < out_w; ++ow) {
    const T t1 = top[2 * ow + 1], t2 = bottom[2 * ow], t3 = bottom[2 * ow + 1];
    T best = top[2 * ow];
    std::int64_t offset = 0;
    bool take = int(t1 > best) | int(t1 != t1);
    best = pick(take, t1, best);
    offset = pick<std::int64_t>(take, 1, offset);
    take = int(t2 > best) | int(t2 != t2);
    best = pick(take, t2, best);
    offset = pick<std::int64_t>(take, width, offset);
    take = int(t3 > best) | int(t3 != t3);
    best = pick(take, t3, best);
    offset = pick<std::int64_t>(take, width + 1, offset);
    out[ow] = best;
    argmax[ow] = base + 2 * ow + offset;
  }
}

template <class T>
void max_pool_forward(const T* x, const PoolGeometry& g, T* out, std::int64_t* argmax) {
  const std::int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  if (g.kernel.h == 2 && g.kernel.w == 2 && g.stride.h == 2 && g.stride.w == 2 && g.padding.h == 0 &&
      g.padding.w == 0 && g.dilation.h == 1 && g.dilation.w == 1 && 2 * g.out_h <= g.height &&
      2 * g.out_w <= g.width) {
    // The common 2x2 window, stride 2, every window inside the input (no ceil_mode overhang): the general
    // loop below with its bounds worked out, the same four taps in the same order and the same selection
    // rule, written as selects over one output row so that it compiles to vector blends, not branches.
    const std::int64_t width = g.width, out_w = g.out_w;
    parallel_for(0, g.planes, plane_grain(g), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t p = lo; p < hi; ++p)
        for (std::int64_t oh = 0; oh < g.out_h; ++oh)
          pool_row_2x2(x + p * in_plane + 2 * oh * width, width, out_w, 2 * oh * width,
                       out + p * out_plane + oh * out_w, argmax + p * out_plane + oh * out_w);
    });
    return;
  }
  parallel_for(0, g.planes, plane_grain(g), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* src = x + p * in_plane;
      for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
        std::int64_t h0 = oh * g.stride.h - g.padding.h;
        const std::int64_t h1 = std::min(h0 + (g.kernel.h - 1) * g.dilation.h + 1, g.height);
        while (h0 < 0) h0 += g.dilation.h;
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
          std::int64_t w0 = ow * g.stride.w - g.padding.w;
          const std::int64_t w1 = std::min(w0 + (g.kernel.w - 1) * g.dilation.w + 1, g.width);
          while (w0 < 0) w0 += g.dilation.w;
          std::int64_t best_index = h0 * g.width + w0;
          T best = -std::numeric_limits<T>::infinity();
          for (std::int64_t ih = h0; ih < h1; ih += g.dilation.h)
            for (std::int64_t iw = w0; iw < w1; iw += g.dilation.w) {
              // Selects instead of branching: on real data the running maximum changes unpredictably.
              const T v = src[ih * g.width + iw];
              const bool take = int(v > best) | int(v != v);
              best = pick(take, v, best);
              best_index = pick<std::int64_t>(take, ih * g.width + iw, best_index);
            }
          out[p * out_plane + oh * g.out_w + ow] = best;
          argmax[p * out_plane + oh * g.out_w + ow] = best_index;
        }
      }
    }
  });
}

// Average-pool windows: clipped bounds [h0, h1) x [w0, w1) and the divisor.
struct AvgWindow {
  std::int64_t h0, h1, w0, w1, divisor;
};
inline AvgWindow avg_window(const PoolGeometry& g, std::int64_t oh, std::int64_t ow, bool count_include_pad) {
  std::int64_t h0 = oh * g.stride.h - g.padding.h, w0 = ow * g.stride.w - g.padding.w;
  std::int64_t h1 = std::min(h0 + g.kernel.h, g.height + g.padding.h);
  std::int64_t w1 = std::min(w0 + g.kernel.w, g.width + g.padding.w);
  const std::int64_t padded_size = (h1 - h0) * (w1 - w0);
  h0 = std::max<std::int64_t>(h0, 0);
  w0 = std::max<std::int64_t>(w0, 0);
  h1 = std::min(h1, g.height);
  w1 = std::min(w1, g.width);
  return {h0, h1, w0, w1, count_include_pad ? padded_size : (h1 - h0) * (w1 - w0)};
}

template <class T>
void avg_pool_forward(const T* x, const PoolGeometry& g, bool count_include_pad, T* out) {
  const std::int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  parallel_for(0, g.planes, plane_grain(g), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* src = x + p * in_plane;
      for (std::int64_t oh = 0; oh < g.out_h; ++oh)
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
          const AvgWindow win = avg_window(g, oh, ow, count_include_pad);
          T acc = 0;
          for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
            for (std::int64_t iw = win.w0; iw < win.w1; ++iw) acc += src[ih * g.width + iw];
          // An empty window (only possible in the padding) averages to zero, as in PyTorch.
          out[p * out_plane + oh * g.out_w + ow] =
              (win.h0 < win.h1 && win.w0 < win.w1) ? acc / T(win.divisor) : T(0);
        }
    }
  });
}

template <class T>
void avg_pool_backward(const T* gy, const PoolGeometry& g, bool count_include_pad, T* gx) {
  const std::int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  parallel_for(0, g.planes, plane_grain(g), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      T* dst = gx + p * in_plane;
      for (std::int64_t oh = 0; oh < g.out_h; ++oh)
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
          const AvgWindow win = avg_window(g, oh, ow, count_include_pad);
          if (win.h0 >= win.h1 || win.w0 >= win.w1) continue;
          const T share = gy[p * out_plane + oh * g.out_w + ow] / T(win.divisor);
          for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
            for (std::int64_t iw = win.w0; iw < win.w1; ++iw) dst[ih * g.width + iw] += share;
        }
    }
  });
}

}  // namespace

Tensor max_pool2d(const Tensor& input, Size2d kernel_size, std::optional<Size2d> stride, Size2d padding,
                  Size2d dilation, bool ceil_mode) {
  const PoolGeometry g = check_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode);
  return dispatch_floating(input.dtype(), "max_pool2d", [&](auto zero) {
    using T = decltype(zero);
    const Tensor x = input.contiguous_copy();
    Tensor out = empty(g.out_shape, input.dtype());
    Tensor argmax = empty(g.out_shape, DType::Int64);
    max_pool_forward<T>(x.data<T>(), g, out.data<T>(), argmax.data<std::int64_t>());
    if (!autograd::needs_grad(input)) return out;
    // The gradient goes to each window's chosen element.
    const auto scatter = [g](const Tensor& grad_out, const Tensor& argmax_of, const Shape& input_shape) {
      const Tensor gy = grad_out.contiguous_copy();
      Tensor gx = zeros(input_shape, gy.dtype());
      const T* gyp = gy.data<T>();
      const std::int64_t* idx = argmax_of.data<std::int64_t>();
      T* gxp = gx.data<T>();
      const std::int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
      parallel_for(0, g.planes, plane_grain(g), [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t p = lo; p < hi; ++p)
          for (std::int64_t i = 0; i < out_plane; ++i) gxp[p * in_plane + idx[p * out_plane + i]] += gyp[p * out_plane + i];
      });
      return gx;
    };
    if (const DType low = autograd::autocast_dtype(input); low != DType::Float32) {
      // Under autocast the 16-bit input is saved instead of the indices (the activation before the pool
      // already keeps that very copy) and backward finds the chosen elements again in it; where two
      // elements of a window round to the same 16-bit value, the first of them receives the gradient.
      record(out, "MaxPool2dBackward", {&input},
             [xs = autograd::SavedTensor(autograd::cast_for_autocast(x, low)), g, scatter, input_shape = input.shape()](
                 const Tensor& grad_out, std::span<Tensor> grads) {
               const Tensor wide = xs.unpack("max_pool2d").to(dtype_of<T>());
               Tensor values = empty(g.out_shape, dtype_of<T>()), found = empty(g.out_shape, DType::Int64);
               max_pool_forward<T>(wide.data<T>(), g, values.data<T>(), found.data<std::int64_t>());
               grads[0] = scatter(grad_out, found, input_shape);
             });
      return out;
    }
    record(out, "MaxPool2dBackward", {&input},
           [argmax, scatter, input_shape = input.shape()](const Tensor& grad_out, std::span<Tensor> grads) {
             grads[0] = scatter(grad_out, argmax, input_shape);
           });
    return out;
  });
}

Tensor avg_pool2d(const Tensor& input, Size2d kernel_size, std::optional<Size2d> stride, Size2d padding,
                  bool ceil_mode, bool count_include_pad) {
  const PoolGeometry g = check_pool("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode);
  return dispatch_floating(input.dtype(), "avg_pool2d", [&](auto zero) {
    using T = decltype(zero);
    const Tensor x = input.contiguous_copy();
    Tensor out = empty(g.out_shape, input.dtype());
    avg_pool_forward<T>(x.data<T>(), g, count_include_pad, out.data<T>());
    if (autograd::needs_grad(input)) {
      record(out, "AvgPool2dBackward", {&input},
             [g, count_include_pad, input_shape = input.shape()](const Tensor& grad_out, std::span<Tensor> grads) {
               const Tensor gy = grad_out.contiguous_copy();
               Tensor gx = zeros(input_shape, gy.dtype());
               avg_pool_backward<T>(gy.data<T>(), g, count_include_pad, gx.data<T>());
               grads[0] = gx;
             });
    }
    return out;
  });
}

}  // namespace descent
