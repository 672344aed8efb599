// Batch and layer normalisation with fused forward and backward kernels (one pass per statistic rather
// than a chain of elementwise ops, so the graph holds one node and the backward allocates only its
// results). Statistics are computed in two passes (mean, then centred squares) for accuracy.
#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "descent/autograd/functional.hpp"
#include "descent/autograd/autocast.hpp"
#include "descent/autograd/ops.hpp"
#include "kernels.hpp"

namespace descent {

using autograd::SavedTensor;
using namespace autograd::kernel;

namespace {

// Element pointer of a 1-D tensor of any stride (running statistics may be views).
template <class T>
T& element(const Tensor& t, std::int64_t i) {
  return mutable_storage_base<T>(t)[t.offset() + i * t.strides()[0]];
}

void check_channel_vector(const Tensor& t, const char* name, std::int64_t channels, const Tensor& input) {
  if (!t.defined()) return;
  DESCENT_CHECK(t.dim() == 1 && t.shape()[0] == channels, "batch_norm: ", name, " of shape ", t.shape(),
                " for input of shape ", input.shape(), " (expected [", channels, "])");
  DESCENT_CHECK(t.dtype() == input.dtype(), "batch_norm: ", name, " is ", dtype_name(t.dtype()), " but input is ",
                dtype_name(input.dtype()));
}

// Layout of batch-norm input viewed as [batch, channels, spatial].
struct ChannelLayout {
  std::int64_t batch = 0, channels = 0, spatial = 1;
  std::int64_t count() const { return batch * spatial; }  // values per channel
};

ChannelLayout check_batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                               const Tensor& weight, const Tensor& bias, bool training, double eps) {
  DESCENT_CHECK(input.defined(), "batch_norm: input is undefined");
  DESCENT_CHECK(input.dim() >= 2 && input.dim() <= 5, "batch_norm: expected input of shape [N, C], [N, C, L], ",
                "[N, C, H, W] or [N, C, D, H, W], got ", input.shape());
  ChannelLayout layout;
  layout.batch = input.shape()[0];
  layout.channels = input.shape()[1];
  for (int d = 2; d < input.dim(); ++d) layout.spatial *= input.shape()[d];
  check_channel_vector(running_mean, "running_mean", layout.channels, input);
  check_channel_vector(running_var, "running_var", layout.channels, input);
  check_channel_vector(weight, "weight", layout.channels, input);
  check_channel_vector(bias, "bias", layout.channels, input);
  DESCENT_CHECK(running_mean.defined() == running_var.defined(),
                "batch_norm: running_mean and running_var must both be given or both be undefined");
  DESCENT_CHECK(training || running_mean.defined(),
                "batch_norm: evaluation (training=false) needs running_mean and running_var");
  DESCENT_CHECK(!training || layout.count() > 1, "batch_norm: expected more than 1 value per channel when training, "
                "got input of shape ", input.shape());
  DESCENT_CHECK(eps >= 0.0, "batch_norm: eps must be non-negative, got ", eps);
  return layout;
}

// What batch norm's forward keeps for the backward: the contiguous input, the weight, and per channel the
// mean and 1/std it normalised with.
struct BatchNormSaved {
  Tensor x, w, mean, invstd;
};

// Per channel: the statistics (batch statistics, updating the running ones, when training; the running
// ones otherwise) and the normalised, scaled and shifted output.
template <class T>
Tensor batch_norm_forward(const BatchNormSaved& saved, const Tensor& b, const Tensor& running_mean,
                          const Tensor& running_var, const ChannelLayout& layout, bool training, double momentum,
                          double eps, std::int64_t grain) {
  const std::int64_t channels = layout.channels, spatial = layout.spatial, batch = layout.batch;
  const std::int64_t count = layout.count();
  Tensor out = empty(saved.x.shape(), saved.x.dtype());
  const T* xp = saved.x.data<T>();
  T* yp = out.data<T>();
  T* mp = saved.mean.data<T>();
  T* ip = saved.invstd.data<T>();
  const T* wp = saved.w.defined() ? saved.w.data<T>() : nullptr;
  const T* bp = b.defined() ? b.data<T>() : nullptr;
  parallel_for(0, channels, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      T mu, inv;
      if (training) {
        T acc = 0;
        for (std::int64_t n = 0; n < batch; ++n) {
          const T* row = xp + (n * channels + c) * spatial;
          for (std::int64_t s = 0; s < spatial; ++s) acc += row[s];
        }
        mu = acc / T(count);
        T squares = 0;
        for (std::int64_t n = 0; n < batch; ++n) {
          const T* row = xp + (n * channels + c) * spatial;
          for (std::int64_t s = 0; s < spatial; ++s) squares += (row[s] - mu) * (row[s] - mu);
        }
        const T biased_var = squares / T(count);
        inv = T(1) / std::sqrt(biased_var + T(eps));
        if (running_mean.defined()) {
          T& rm = element<T>(running_mean, c);
          T& rv = element<T>(running_var, c);
          rm = T(1 - momentum) * rm + T(momentum) * mu;
          rv = T(1 - momentum) * rv + T(momentum) * (squares / T(count - 1));
        }
      } else {
        mu = element<T>(running_mean, c);
        inv = T(1) / std::sqrt(element<T>(running_var, c) + T(eps));
      }
      mp[c] = mu;
      ip[c] = inv;
      const T scale = (wp ? wp[c] : T(1)) * inv, shift = (bp ? bp[c] : T(0)) - mu * scale;
      for (std::int64_t n = 0; n < batch; ++n) {
        const T* row = xp + (n * channels + c) * spatial;
        T* dst = yp + (n * channels + c) * spatial;
        for (std::int64_t s = 0; s < spatial; ++s) dst[s] = row[s] * scale + shift;
      }
    }
  });
  return out;
}

// out[n, c, s] = f(in[n, c, s], mean[c], invstd[c]) over float32 tensors laid out as `layout`.
template <class F>
Tensor map_channels(const Tensor& in, const Tensor& mean, const Tensor& invstd, const ChannelLayout& layout, F f) {
  Tensor out = empty(in.shape(), DType::Float32);
  const float* xp = in.data<float>();
  const float* mp = mean.data<float>();
  const float* ip = invstd.data<float>();
  float* op = out.data<float>();
  for (std::int64_t n = 0; n < layout.batch; ++n)
    for (std::int64_t c = 0; c < layout.channels; ++c) {
      const std::int64_t at = (n * layout.channels + c) * layout.spatial;
      for (std::int64_t s = 0; s < layout.spatial; ++s) op[at + s] = f(xp[at + s], mp[c], ip[c]);
    }
  return out;
}

// Under autocast batch norm keeps its input as x_hat = (x - mean) * invstd in 16 bits, a unit-scale tensor
// whose rounding error does not grow with the channel's mean (the input itself, rounded, would lose the
// deviations of a channel whose mean dwarfs them); backward rebuilds x = x_hat / invstd + mean.
Tensor normalized_copy(const Tensor& x, const Tensor& mean, const Tensor& invstd, const ChannelLayout& layout,
                       DType dtype) {
  const auto normalise = [](float v, float m, float inv) { return (v - m) * inv; };
  return autograd::to_low_precision(map_channels(x, mean, invstd, layout, normalise), dtype);
}

Tensor rebuilt_input(const Tensor& hat, const Tensor& mean, const Tensor& invstd, const ChannelLayout& layout) {
  const auto rebuild = [](float v, float m, float inv) { return v / inv + m; };
  return map_channels(hat.to(DType::Float32), mean, invstd, layout, rebuild);
}

// The gradients of batch norm for the ones wanted (the others stay undefined): gx, gw, gb.
template <class T>
std::array<Tensor, 3> batch_norm_backward(const Tensor& gy, const BatchNormSaved& saved, const ChannelLayout& layout,
                                          bool training, std::array<bool, 3> want, std::int64_t grain) {
  const T* gp = gy.data<T>();
  const T* xq = saved.x.data<T>();
  const T* wq = saved.w.defined() ? saved.w.data<T>() : nullptr;
  const T* mq = saved.mean.data<T>();
  const T* iq = saved.invstd.data<T>();
  const std::int64_t C = layout.channels, S = layout.spatial, N = layout.batch;
  const auto dtype = saved.x.dtype();
  std::array<Tensor, 3> grads{want[0] ? empty(saved.x.shape(), dtype) : Tensor(),
                              want[1] ? empty(Shape{C}, dtype) : Tensor(), want[2] ? empty(Shape{C}, dtype) : Tensor()};
  parallel_for(0, C, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      // sum(dy) and sum(dy * xhat) over the channel.
      T sum_dy = 0, sum_dy_xhat = 0;
      for (std::int64_t n = 0; n < N; ++n) {
        const T* g = gp + (n * C + c) * S;
        const T* xr = xq + (n * C + c) * S;
        for (std::int64_t s = 0; s < S; ++s) {
          sum_dy += g[s];
          sum_dy_xhat += g[s] * (xr[s] - mq[c]);
        }
      }
      sum_dy_xhat *= iq[c];
      if (want[1]) grads[1].data<T>()[c] = sum_dy_xhat;
      if (want[2]) grads[2].data<T>()[c] = sum_dy;
      if (!want[0]) continue;
      const T scale = (wq ? wq[c] : T(1)) * iq[c];
      // Training: the statistics depend on x, which removes the gradient's mean and its projection on
      // xhat. Eval: the statistics are constants.
      const T inv_count = T(1) / T(N * S);
      const T mean_dy = training ? sum_dy * inv_count : T(0);
      const T proj = training ? sum_dy_xhat * inv_count * iq[c] : T(0);
      for (std::int64_t n = 0; n < N; ++n) {
        const T* g = gp + (n * C + c) * S;
        const T* xr = xq + (n * C + c) * S;
        T* dst = grads[0].data<T>() + (n * C + c) * S;
        for (std::int64_t s = 0; s < S; ++s) dst[s] = scale * (g[s] - mean_dy - (xr[s] - mq[c]) * proj);
      }
    }
  });
  return grads;
}

Shape check_layer_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape, const Tensor& weight,
                       const Tensor& bias, double eps) {
  DESCENT_CHECK(input.defined(), "layer_norm: input is undefined");
  const Shape norm_shape(normalized_shape);
  const int k = norm_shape.size();
  bool matches = k >= 1 && k <= input.dim();
  for (int i = 0; matches && i < k; ++i) matches = input.shape()[input.dim() - k + i] == norm_shape[i];
  DESCENT_CHECK(matches, "layer_norm: normalized_shape ", norm_shape,
                " must be non-empty and equal the trailing dimensions of input shape ", input.shape());
  for (const Tensor* t : {&weight, &bias}) {
    if (!t->defined()) continue;
    DESCENT_CHECK(t->shape() == norm_shape, "layer_norm: ", t == &weight ? "weight" : "bias", " of shape ", t->shape(),
                  " (expected normalized_shape ", norm_shape, ")");
    DESCENT_CHECK(t->dtype() == input.dtype(), "layer_norm: ", t == &weight ? "weight" : "bias", " is ",
                  dtype_name(t->dtype()), " but input is ", dtype_name(input.dtype()));
  }
  DESCENT_CHECK(eps >= 0.0, "layer_norm: eps must be non-negative, got ", eps);
  return norm_shape;
}

// As for batch norm, per row of `width` values.
struct LayerNormSaved {
  Tensor x, w, mean, invstd;
  std::int64_t rows = 0, width = 0;
};

template <class T>
Tensor layer_norm_forward(const LayerNormSaved& saved, const Tensor& b, double eps, std::int64_t grain) {
  const std::int64_t width = saved.width;
  Tensor out = empty(saved.x.shape(), saved.x.dtype());
  const T* xp = saved.x.data<T>();
  const T* wp = saved.w.defined() ? saved.w.data<T>() : nullptr;
  const T* bp = b.defined() ? b.data<T>() : nullptr;
  T* yp = out.data<T>();
  T* mp = saved.mean.data<T>();
  T* ip = saved.invstd.data<T>();
  parallel_for(0, saved.rows, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const T* row = xp + r * width;
      T acc = 0;
      for (std::int64_t j = 0; j < width; ++j) acc += row[j];
      const T mu = acc / T(width);
      T squares = 0;
      for (std::int64_t j = 0; j < width; ++j) squares += (row[j] - mu) * (row[j] - mu);
      const T inv = T(1) / std::sqrt(squares / T(width) + T(eps));
      mp[r] = mu;
      ip[r] = inv;
      T* dst = yp + r * width;
      for (std::int64_t j = 0; j < width; ++j) dst[j] = (row[j] - mu) * inv * (wp ? wp[j] : T(1)) + (bp ? bp[j] : T(0));
    }
  });
  return out;
}

// With gw = dy * w: dx = invstd * (gw - mean(gw) - xhat * mean(gw * xhat)), per row.
template <class T>
Tensor layer_norm_input_grad(const Tensor& gy, const LayerNormSaved& saved, std::int64_t grain) {
  const std::int64_t width = saved.width;
  const T* gp = gy.data<T>();
  const T* xq = saved.x.data<T>();
  const T* wq = saved.w.defined() ? saved.w.data<T>() : nullptr;
  const T* mq = saved.mean.data<T>();
  const T* iq = saved.invstd.data<T>();
  Tensor gx = empty(saved.x.shape(), saved.x.dtype());
  T* gxp = gx.data<T>();
  parallel_for(0, saved.rows, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const T* g = gp + r * width;
      const T* xr = xq + r * width;
      T sum_g = 0, sum_g_xhat = 0;
      for (std::int64_t j = 0; j < width; ++j) {
        const T gw = g[j] * (wq ? wq[j] : T(1));
        sum_g += gw;
        sum_g_xhat += gw * (xr[j] - mq[r]) * iq[r];
      }
      const T mean_g = sum_g / T(width), mean_g_xhat = sum_g_xhat / T(width);
      T* dst = gxp + r * width;
      for (std::int64_t j = 0; j < width; ++j) {
        const T xhat = (xr[j] - mq[r]) * iq[r];
        dst[j] = iq[r] * (g[j] * (wq ? wq[j] : T(1)) - mean_g - xhat * mean_g_xhat);
      }
    }
  });
  return gx;
}

// gw = sum over rows of dy * xhat, gb = sum of dy: in row order, so the result does not depend on the
// thread count.
template <class T>
std::pair<Tensor, Tensor> layer_norm_param_grads(const Tensor& gy, const LayerNormSaved& saved, const Shape& norm_shape) {
  const std::int64_t width = saved.width;
  const T* gp = gy.data<T>();
  const T* xq = saved.x.data<T>();
  const T* mq = saved.mean.data<T>();
  const T* iq = saved.invstd.data<T>();
  Tensor gw = zeros(norm_shape, saved.x.dtype()), gb = zeros(norm_shape, saved.x.dtype());
  T* gwp = gw.data<T>();
  T* gbp = gb.data<T>();
  for (std::int64_t r = 0; r < saved.rows; ++r) {
    const T* g = gp + r * width;
    const T* xr = xq + r * width;
    for (std::int64_t j = 0; j < width; ++j) {
      gwp[j] += g[j] * (xr[j] - mq[r]) * iq[r];
      gbp[j] += g[j];
    }
  }
  return {gw, gb};
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  const ChannelLayout layout = check_batch_norm(input, running_mean, running_var, weight, bias, training, eps);
  return dispatch_floating(input.dtype(), "batch_norm", [&](auto zero) {
    using T = decltype(zero);
    const BatchNormSaved saved{input.contiguous_copy().detach(),
                               weight.defined() ? weight.contiguous_copy().detach() : Tensor(),
                               empty(Shape{layout.channels}, input.dtype()), empty(Shape{layout.channels}, input.dtype())};
    const Tensor b = bias.defined() ? bias.contiguous_copy() : Tensor();
    const std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(layout.count(), 1));
    Tensor out = batch_norm_forward<T>(saved, b, running_mean, running_var, layout, training, momentum, eps, grain);
    if (training && running_mean.defined()) {
      running_mean.mark_modified();
      running_var.mark_modified();
    }
    if (autograd::any_needs_grad({&input, &weight, &bias})) {
      const std::array<bool, 3> want{input.requires_grad(), weight.defined() && weight.requires_grad(),
                                     bias.defined() && bias.requires_grad()};
      // Under autocast the normalised input is kept in 16 bits (the statistics and all arithmetic stay float32).
      const DType low = autograd::autocast_dtype(input);
      const Tensor kept = low == DType::Float32 ? saved.x : normalized_copy(saved.x, saved.mean, saved.invstd, layout, low);
      record(out, "BatchNormBackward", {&input, &weight, &bias},
             [xs = SavedTensor(kept), ws = SavedTensor(saved.w), mean = saved.mean, invstd = saved.invstd, layout,
              training, want, grain](const Tensor& grad_out, std::span<Tensor> grads) {
               const Tensor& x = xs.unpack("batch_norm");
               const BatchNormSaved unpacked{x.dtype() == dtype_of<T>() ? x : rebuilt_input(x, mean, invstd, layout),
                                             ws.unpack("batch_norm"), mean, invstd};
               auto [gx, gw, gb] = batch_norm_backward<T>(grad_out.contiguous_copy(), unpacked, layout, training, want, grain);
               grads[0] = gx;
               grads[1] = gw;
               grads[2] = gb;
             });
    }
    return out;
  });
}

Tensor layer_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const Shape norm_shape = check_layer_norm(input, normalized_shape, weight, bias, eps);
  return dispatch_floating(input.dtype(), "layer_norm", [&](auto zero) {
    using T = decltype(zero);
    const std::int64_t width = norm_shape.numel(), rows = width > 0 ? input.numel() / width : 0;
    const LayerNormSaved saved{input.contiguous_copy().detach(),
                               weight.defined() ? weight.contiguous_copy().detach() : Tensor(),
                               empty(Shape{rows}, input.dtype()), empty(Shape{rows}, input.dtype()), rows, width};
    const Tensor b = bias.defined() ? bias.contiguous_copy() : Tensor();
    const std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(width, 1));
    Tensor out = layer_norm_forward<T>(saved, b, eps, grain);
    if (autograd::any_needs_grad({&input, &weight, &bias})) {
      const bool want_x = input.requires_grad(), want_w = weight.defined() && weight.requires_grad();
      const bool want_b = bias.defined() && bias.requires_grad();
      record(out, "LayerNormBackward", {&input, &weight, &bias},
             [xs = SavedTensor(saved.x), ws = SavedTensor(saved.w), mean = saved.mean, invstd = saved.invstd, rows,
              width, want_x, want_w, want_b, grain, norm_shape](const Tensor& grad_out, std::span<Tensor> grads) {
               const Tensor gy = grad_out.contiguous_copy();
               const LayerNormSaved unpacked{xs.unpack("layer_norm"), ws.unpack("layer_norm"), mean, invstd, rows, width};
               if (want_x) grads[0] = layer_norm_input_grad<T>(gy, unpacked, grain);
               if (want_w || want_b) {
                 auto [gw, gb] = layer_norm_param_grads<T>(gy, unpacked, norm_shape);
                 if (want_w) grads[1] = gw;
                 if (want_b) grads[2] = gb;
               }
             });
    }
    return out;
  });
}

}  // namespace descent
