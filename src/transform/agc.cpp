#include "descent/transform/agc.hpp"

#include <algorithm>
#include <cmath>

#include "descent/core/strided.hpp"

namespace descent::transform {

namespace {

// The gradient's floor norm, timm's guard against dividing by a zero gradient norm.
constexpr double kGradNormFloor = 1e-6;

template <class P, class G>
std::int64_t clip_tensor(const Tensor& param, const Tensor& grad, const AgcOptions& options, double multiplier) {
  const std::int64_t units = param.dim() >= 2 ? param.size(0) : 1;
  const std::int64_t unit_numel = units == 0 ? 0 : param.numel() / units;
  std::vector<double> weight_sq(std::size_t(units), 0.0), grad_sq(std::size_t(units), 0.0);
  const P* w = static_cast<const P*>(param.storage()->data());
  G* g = static_cast<G*>(grad.storage()->data());
  const G m = G(multiplier);
  std::int64_t element = 0;
  for_each_offset2(param.shape(), param.strides(), param.offset(), grad.strides(), grad.offset(),
                   [&](std::int64_t at_w, std::int64_t at_g) {
                     const std::size_t unit = std::size_t(element++ / unit_numel);
                     const double wv = double(w[at_w]), gv = double(G(g[at_g] * m));
                     weight_sq[unit] += wv * wv;
                     grad_sq[unit] += gv * gv;
                   });
  std::vector<double> factor(std::size_t(units), 1.0);
  std::int64_t clipped = 0;
  for (std::size_t u = 0; u < factor.size(); ++u) {
    const double max_norm = options.clipping * std::max(std::sqrt(weight_sq[u]), options.eps);
    const double grad_norm = std::sqrt(grad_sq[u]);
    if (grad_norm > max_norm) {
      factor[u] = max_norm / std::max(grad_norm, kGradNormFloor);
      ++clipped;
    }
  }
  element = 0;
  for_each_offset(grad.shape(), grad.strides(), grad.offset(), [&](std::int64_t at) {
    const double f = factor[std::size_t(element++ / unit_numel)];
    const G unscaled = G(g[at] * m);
    g[at] = f == 1.0 ? unscaled : G(unscaled * G(f));
  });
  grad.mark_modified();
  return clipped;
}

}  // namespace

void check_agc_options(const AgcOptions& options, const char* where) {
  DESCENT_CHECK(options.clipping > 0.0 && std::isfinite(options.clipping), where, ": AGC clipping = ",
                options.clipping, "; expected a finite number > 0");
  DESCENT_CHECK(options.eps >= 0.0 && std::isfinite(options.eps), where, ": AGC eps = ", options.eps,
                "; expected a finite number >= 0");
}

std::int64_t adaptive_grad_clip_(const std::vector<Tensor>& params, AgcOptions options, double grad_multiplier) {
  check_agc_options(options, "adaptive_grad_clip_");
  std::int64_t clipped = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& param = params[i];
    const Tensor grad = param.defined() ? param.grad() : Tensor();
    if (!grad.defined() || grad.numel() == 0) continue;
    DESCENT_CHECK(grad.shape() == param.shape(), "adaptive_grad_clip_: the gradient of parameter ", i,
                  " has shape ", grad.shape(), "; expected the parameter's shape ", param.shape());
    clipped += dispatch_floating(param.dtype(), "adaptive_grad_clip_ (parameter)", [&](auto p_zero) {
      return dispatch_floating(grad.dtype(), "adaptive_grad_clip_ (gradient)", [&](auto g_zero) {
        return clip_tensor<decltype(p_zero), decltype(g_zero)>(param, grad, options, grad_multiplier);
      });
    });
  }
  return clipped;
}

}  // namespace descent::transform
