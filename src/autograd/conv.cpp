// 2-D convolution as im2col + GEMM. Samples are processed in blocks: the patches of a block of samples
// are unfolded side by side into one column matrix [C kH kW, block * Ho Wo], so that each group needs a
// single large GEMM per block (BLAS threads it) instead of one small GEMM per sample. The block size
// bounds the column buffer, the only large temporary. The backward pass recomputes the columns from the
// saved input rather than keeping them alive between forward and backward.
#include <algorithm>
#include <cstring>

#include "descent/autograd/autocast.hpp"
#include "descent/autograd/functional.hpp"
#include "descent/autograd/ops.hpp"
#include "descent/core/blas.hpp"
#include "descent/core/convert.hpp"
#include "kernels.hpp"

namespace descent {

using autograd::SavedTensor;
using namespace autograd::kernel;

namespace {

// Upper bound on the elements of the column buffer (16 MiB of float32) when choosing the block size.
constexpr std::int64_t kColumnBudget = std::int64_t(1) << 22;

struct ConvGeometry {
  std::int64_t batch = 0, channels = 0, height = 0, width = 0;
  std::int64_t out_channels = 0, kernel_h = 0, kernel_w = 0;
  std::int64_t out_h = 0, out_w = 0;
  Size2d stride{1}, padding{0}, dilation{1};
  std::int64_t groups = 1;

  std::int64_t image() const { return channels * height * width; }
  std::int64_t plane() const { return out_h * out_w; }                        // output pixels per map
  std::int64_t patch() const { return channels / groups * kernel_h * kernel_w; }  // GEMM depth per group
  std::int64_t rows() const { return channels * kernel_h * kernel_w; }          // column matrix rows
  std::int64_t out_per_group() const { return out_channels / groups; }
  std::int64_t block() const {
    return std::clamp<std::int64_t>(kColumnBudget / std::max<std::int64_t>(rows() * plane(), 1), 1,
                                    std::max<std::int64_t>(batch, 1));
  }
};

ConvGeometry check_conv(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2d stride,
                        Size2d padding, Size2d dilation, std::int64_t groups) {
  DESCENT_CHECK(input.defined() && weight.defined(), "conv2d: input or weight is undefined");
  DESCENT_CHECK(input.dim() == 4, "conv2d: expected input of shape [N, C, H, W], got shape ", input.shape());
  DESCENT_CHECK(weight.dim() == 4, "conv2d: expected weight of shape [out_channels, in_channels / groups, kH, kW], "
                "got shape ", weight.shape());
  DESCENT_CHECK(input.dtype() == weight.dtype(), "conv2d: input is ", dtype_name(input.dtype()), " but weight is ",
                dtype_name(weight.dtype()));
  DESCENT_CHECK(groups >= 1, "conv2d: groups must be positive, got ", groups);
  DESCENT_CHECK(stride.h > 0 && stride.w > 0, "conv2d: stride must be positive, got (", stride.h, ", ", stride.w, ")");
  DESCENT_CHECK(padding.h >= 0 && padding.w >= 0, "conv2d: padding must be non-negative, got (", padding.h, ", ",
                padding.w, ")");
  DESCENT_CHECK(dilation.h > 0 && dilation.w > 0, "conv2d: dilation must be positive, got (", dilation.h, ", ",
                dilation.w, ")");
  ConvGeometry g;
  g.batch = input.shape()[0];
  g.channels = input.shape()[1];
  g.height = input.shape()[2];
  g.width = input.shape()[3];
  g.out_channels = weight.shape()[0];
  g.kernel_h = weight.shape()[2];
  g.kernel_w = weight.shape()[3];
  g.stride = stride;
  g.padding = padding;
  g.dilation = dilation;
  g.groups = groups;
  DESCENT_CHECK(g.channels % groups == 0, "conv2d: input channels (", g.channels, " in input of shape ",
                input.shape(), ") are not divisible by groups=", groups);
  DESCENT_CHECK(g.out_channels % groups == 0 && g.out_channels > 0, "conv2d: out_channels (", g.out_channels,
                " in weight of shape ", weight.shape(), ") must be a positive multiple of groups=", groups);
  DESCENT_CHECK(weight.shape()[1] * groups == g.channels, "conv2d: weight of shape ", weight.shape(),
                " expects ", weight.shape()[1] * groups, " input channels (", weight.shape()[1], " x groups=", groups,
                "), but input of shape ", input.shape(), " has ", g.channels);
  DESCENT_CHECK(!bias.defined() || (bias.dim() == 1 && bias.shape()[0] == g.out_channels), "conv2d: bias of shape ",
                bias.defined() ? bias.shape() : Shape{}, " for weight of shape ", weight.shape(), " (expected [",
                g.out_channels, "])");
  DESCENT_CHECK(!bias.defined() || bias.dtype() == input.dtype(), "conv2d: bias is ", dtype_name(bias.dtype()),
                " but input is ", dtype_name(input.dtype()));
  const std::int64_t extent_h = dilation.h * (g.kernel_h - 1) + 1, extent_w = dilation.w * (g.kernel_w - 1) + 1;
  const std::int64_t padded_h = g.height + 2 * padding.h, padded_w = g.width + 2 * padding.w;
  DESCENT_CHECK(extent_h <= padded_h && extent_w <= padded_w && g.kernel_h > 0 && g.kernel_w > 0,
                "conv2d: kernel of extent (", extent_h, ", ", extent_w, ") (weight shape ", weight.shape(),
                ", dilation (", dilation.h, ", ", dilation.w, ")) is larger than the padded input (", padded_h, ", ",
                padded_w, ") of input shape ", input.shape());
  g.out_h = (padded_h - extent_h) / stride.h + 1;
  g.out_w = (padded_w - extent_w) / stride.w + 1;
  return g;
}

// Visits the rows of the column matrix belonging to input channel `c`: fn(row, ki, kj). A row holds, for
// every output pixel, the input pixel under kernel tap (ki, kj) or zero in the padding.
template <class Fn>
void for_each_tap(const ConvGeometry& g, std::int64_t c, Fn&& fn) {
  for (std::int64_t ki = 0; ki < g.kernel_h; ++ki)
    for (std::int64_t kj = 0; kj < g.kernel_w; ++kj) fn((c * g.kernel_h + ki) * g.kernel_w + kj, ki, kj);
}

// Output columns [lo, hi) whose input column iw0 + ow * stride lies inside [0, width).
inline std::pair<std::int64_t, std::int64_t> valid_columns(std::int64_t iw0, std::int64_t stride, std::int64_t width,
                                                           std::int64_t out_w) {
  const std::int64_t lo = iw0 >= 0 ? 0 : (-iw0 + stride - 1) / stride;
  const std::int64_t hi = iw0 >= width ? 0 : (width - iw0 + stride - 1) / stride;
  return {std::min(lo, out_w), std::clamp(hi, std::min(lo, out_w), out_w)};
}

// Unfolds channel c of one sample (image [C, H, W]) into its rows of the column matrix; `cols` points at
// the sample's first column, `ld` is the row length of the whole block.
template <class T>
void im2col_channel(const T* image, std::int64_t c, const ConvGeometry& g, T* cols, std::int64_t ld) {
  const T* channel = image + c * g.height * g.width;
  for_each_tap(g, c, [&](std::int64_t row, std::int64_t ki, std::int64_t kj) {
    T* dst_row = cols + row * ld;
    const std::int64_t iw0 = kj * g.dilation.w - g.padding.w;
    const auto [lo, hi] = valid_columns(iw0, g.stride.w, g.width, g.out_w);
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      T* dst = dst_row + oh * g.out_w;
      const std::int64_t ih = oh * g.stride.h - g.padding.h + ki * g.dilation.h;
      if (ih < 0 || ih >= g.height) {
        std::fill(dst, dst + g.out_w, T(0));
        continue;
      }
      const T* line = channel + ih * g.width;
      std::fill(dst, dst + lo, T(0));
      if (g.stride.w == 1) {
        if (hi > lo) std::memcpy(dst + lo, line + iw0 + lo, std::size_t(hi - lo) * sizeof(T));
      } else {
        for (std::int64_t ow = lo; ow < hi; ++ow) dst[ow] = line[iw0 + ow * g.stride.w];
      }
      std::fill(dst + hi, dst + g.out_w, T(0));
    }
  });
}

// The adjoint of im2col_channel: adds the rows of channel c back into the image gradient.
template <class T>
void col2im_channel(const T* cols, std::int64_t ld, std::int64_t c, const ConvGeometry& g, T* image) {
  T* channel = image + c * g.height * g.width;
  for_each_tap(g, c, [&](std::int64_t row, std::int64_t ki, std::int64_t kj) {
    const T* src_row = cols + row * ld;
    const std::int64_t iw0 = kj * g.dilation.w - g.padding.w;
    const auto [lo, hi] = valid_columns(iw0, g.stride.w, g.width, g.out_w);
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const std::int64_t ih = oh * g.stride.h - g.padding.h + ki * g.dilation.h;
      if (ih < 0 || ih >= g.height) continue;
      const T* src = src_row + oh * g.out_w;
      T* line = channel + ih * g.width;
      for (std::int64_t ow = lo; ow < hi; ++ow) line[iw0 + ow * g.stride.w] += src[ow];
    }
  });
}

// (sample, channel) pairs per parallel task: enough column elements to amortise the task.
inline std::int64_t channel_grain(const ConvGeometry& g) {
  return std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(g.kernel_h * g.kernel_w * g.plane(), 1));
}

// Unfolds samples [first, first + count) of x into cols (row length count * plane), threaded over
// (sample, channel) pairs, which write disjoint rows.
template <class T>
void im2col_block(const T* x, std::int64_t first, std::int64_t count, const ConvGeometry& g, T* cols) {
  const std::int64_t ld = count * g.plane();
  const std::int64_t grain = channel_grain(g);
  parallel_for(0, count * g.channels, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::int64_t b = i / g.channels, c = i % g.channels;
      im2col_channel(x + (first + b) * g.image(), c, g, cols + b * g.plane(), ld);
    }
  });
}

template <class T>
void col2im_block(const T* cols, std::int64_t first, std::int64_t count, const ConvGeometry& g, T* grad_x) {
  const std::int64_t ld = count * g.plane();
  const std::int64_t grain = channel_grain(g);
  parallel_for(0, count * g.channels, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::int64_t b = i / g.channels, c = i % g.channels;
      col2im_channel(cols + b * g.plane(), ld, c, g, grad_x + (first + b) * g.image());
    }
  });
}

// out[n, o, :] = bias[o] + sum over the group's patch of weight * columns. T is the result's type, S the
// operands' (T, or a 16-bit type under autocast, with T = float accumulating).
template <class T, class S = T>
Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvGeometry& g) {
  Tensor out = empty(Shape{g.batch, g.out_channels, g.out_h, g.out_w}, dtype_of<T>());
  if (out.numel() == 0) return out;
  const std::int64_t plane = g.plane(), patch = g.patch(), per_group = g.out_per_group(), block = g.block();
  Tensor cols = empty(Shape{g.rows(), block * plane}, x.dtype());
  // Multi-sample blocks produce [O, block * plane]; it is scattered to [block, O, plane] afterwards.
  Tensor staging = block > 1 ? empty(Shape{g.out_channels, block * plane}, out.dtype()) : Tensor();
  const S* xp = x.data<S>();
  const S* wp = w.data<S>();
  const T* bp = bias.defined() ? bias.data<T>() : nullptr;
  T* op = out.data<T>();
  S* cp = cols.data<S>();
  for (std::int64_t first = 0; first < g.batch; first += block) {
    const std::int64_t count = std::min(block, g.batch - first), ld = count * plane;
    im2col_block(xp, first, count, g, cp);
    T* dst = count == 1 ? op + first * g.out_channels * plane : staging.data<T>();
    for (std::int64_t grp = 0; grp < g.groups; ++grp)
      blas::gemm(false, false, per_group, ld, patch, T(1), wp + grp * per_group * patch, patch,
                 cp + grp * patch * ld, ld, T(0), dst + grp * per_group * ld, ld);
    for (std::int64_t b = 0; b < count; ++b) {
      for (std::int64_t o = 0; o < g.out_channels; ++o) {
        T* target = op + ((first + b) * g.out_channels + o) * plane;
        const T shift = bp ? bp[o] : T(0);
        if (count == 1) {
          if (bp) for (std::int64_t l = 0; l < plane; ++l) target[l] += shift;
        } else {
          const T* src = dst + o * ld + b * plane;
          for (std::int64_t l = 0; l < plane; ++l) target[l] = src[l] + shift;
        }
      }
    }
  }
  return out;
}

struct ConvGrads {
  Tensor input, weight, bias;
};

// The gradients of conv_forward<T, S>: the output gradient enters the products as S (rounded once per
// block), the results accumulate in T.
template <class T, class S = T>
ConvGrads conv_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, const ConvGeometry& g,
                        bool want_input, bool want_weight, bool want_bias) {
  ConvGrads grads;
  const std::int64_t plane = g.plane(), patch = g.patch(), per_group = g.out_per_group(), block = g.block();
  const Tensor gy = grad_out.contiguous_copy();
  const T* gyp = gy.data<T>();
  if (want_bias) {
    grads.bias = zeros(Shape{g.out_channels}, dtype_of<T>());
    T* gb = grads.bias.data<T>();
    for (std::int64_t n = 0; n < g.batch; ++n)
      for (std::int64_t o = 0; o < g.out_channels; ++o) {
        const T* src = gyp + (n * g.out_channels + o) * plane;
        T acc = 0;
        for (std::int64_t l = 0; l < plane; ++l) acc += src[l];
        gb[o] += acc;
      }
  }
  if (!want_input && !want_weight) return grads;
  if (want_input) grads.input = zeros(x.shape(), dtype_of<T>());
  if (want_weight) grads.weight = zeros(w.shape(), dtype_of<T>());
  if (gy.numel() == 0) return grads;
  constexpr bool widened = !std::is_same_v<T, S>;
  Tensor cols = empty(Shape{g.rows(), block * plane}, x.dtype());
  // The input gradient's columns are T; with T = S they share the buffer of the unfolded input.
  Tensor grad_cols = widened && want_input ? empty(Shape{g.rows(), block * plane}, dtype_of<T>()) : cols;
  Tensor staging = block > 1 || widened ? empty(Shape{g.out_channels, block * plane}, x.dtype()) : Tensor();
  const S* xp = x.data<S>();
  const S* wp = w.data<S>();
  S* cp = cols.data<S>();
  T* gcp = want_input ? grad_cols.data<T>() : nullptr;
  for (std::int64_t first = 0; first < g.batch; first += block) {
    const std::int64_t count = std::min(block, g.batch - first), ld = count * plane;
    // The block's output gradient as [O, count * plane] in S, matching the column layout.
    const T* gsrc = gyp + first * g.out_channels * plane;
    const S* gblock = nullptr;
    if constexpr (widened) {
      S* st = staging.data<S>();
      for (std::int64_t b = 0; b < count; ++b)
        for (std::int64_t o = 0; o < g.out_channels; ++o)
          convert(gsrc + (b * g.out_channels + o) * plane, st + o * ld + b * plane, plane);
      gblock = st;
    } else if (count > 1) {
      S* st = staging.data<S>();
      for (std::int64_t b = 0; b < count; ++b)
        for (std::int64_t o = 0; o < g.out_channels; ++o)
          std::memcpy(st + o * ld + b * plane, gsrc + (b * g.out_channels + o) * plane,
                      std::size_t(plane) * sizeof(T));
      gblock = st;
    } else {
      gblock = gsrc;
    }
    if (want_weight) {
      im2col_block(xp, first, count, g, cp);
      T* gw = grads.weight.data<T>();
      for (std::int64_t grp = 0; grp < g.groups; ++grp)
        blas::gemm(false, true, per_group, patch, ld, T(1), gblock + grp * per_group * ld, ld, cp + grp * patch * ld,
                   ld, T(1), gw + grp * per_group * patch, patch);
    }
    if (want_input) {
      for (std::int64_t grp = 0; grp < g.groups; ++grp)
        blas::gemm(true, false, patch, ld, per_group, T(1), wp + grp * per_group * patch, patch,
                   gblock + grp * per_group * ld, ld, T(0), gcp + grp * patch * ld, ld);
      col2im_block(gcp, first, count, g, grads.input.template data<T>());
    }
  }
  return grads;
}

// conv2d of float32 tensors with 16-bit input and weight (saved in the 16-bit dtype for backward).
Tensor conv2d_autocast(const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvGeometry& g,
                       DType dtype) {
  const Tensor x = autograd::cast_for_autocast(input, dtype), w = autograd::cast_for_autocast(weight, dtype);
  const Tensor b = bias.defined() ? bias.contiguous_copy().detach() : Tensor();
  const auto run = [&](auto zero) {
    using S = decltype(zero);
    Tensor out = conv_forward<float, S>(x, w, b, g);
    if (autograd::any_needs_grad({&input, &weight, &bias})) {
      const bool want_input = input.requires_grad(), want_weight = weight.requires_grad();
      const bool want_bias = bias.defined() && bias.requires_grad();
      record(out, "Conv2dBackward", {&input, &weight, &bias},
             [xs = SavedTensor(autograd::saved_operand(input, x)), ws = SavedTensor(w), g, want_input, want_weight,
              want_bias, dtype](const Tensor& grad_out, std::span<Tensor> grads) {
               ConvGrads r = conv_backward<float, S>(grad_out, autograd::operand_for_backward(xs.unpack("conv2d"), dtype),
                                                     ws.unpack("conv2d"), g, want_input, want_weight, want_bias);
               grads[0] = r.input;
               grads[1] = r.weight;
               grads[2] = r.bias;
             });
    }
    return out;
  };
  return dtype == DType::BFloat16 ? run(BFloat16{}) : run(Float16{});
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2d stride, Size2d padding,
              Size2d dilation, std::int64_t groups) {
  const ConvGeometry g = check_conv(input, weight, bias, stride, padding, dilation, groups);
  if (const DType low = autograd::autocast_dtype(input); low != DType::Float32)
    return conv2d_autocast(input, weight, bias, g, low);
  return dispatch_floating(input.dtype(), "conv2d", [&](auto zero) {
    using T = decltype(zero);
    const Tensor x = input.contiguous_copy().detach();
    const Tensor w = weight.contiguous_copy().detach();
    const Tensor b = bias.defined() ? bias.contiguous_copy().detach() : Tensor();
    Tensor out = conv_forward<T>(x, w, b, g);
    if (autograd::any_needs_grad({&input, &weight, &bias})) {
      const bool want_input = input.requires_grad(), want_weight = weight.requires_grad();
      const bool want_bias = bias.defined() && bias.requires_grad();
      record(out, "Conv2dBackward", {&input, &weight, &bias},
             [xs = SavedTensor(x), ws = SavedTensor(w), g, want_input, want_weight, want_bias](
                 const Tensor& grad_out, std::span<Tensor> grads) {
               ConvGrads r = conv_backward<T>(grad_out, xs.unpack("conv2d"), ws.unpack("conv2d"), g, want_input,
                                              want_weight, want_bias);
               grads[0] = r.input;
               grads[1] = r.weight;
               grads[2] = r.bias;
             });
    }
    return out;
  });
}

}  // namespace descent
