#include "descent/transform/clip.hpp"

#include <cmath>

#include "descent/transform/grad_norm.hpp"

namespace descent::transform {

double clip_coefficient(double max_norm, double total_norm) {
  const double coef = max_norm / (total_norm + kClipNormEpsilon);
  return coef < 1.0 || std::isnan(coef) ? coef : 1.0;
}

void check_max_norm(double max_norm, const char* where) {
  DESCENT_CHECK(max_norm >= 0.0, where, ": max_norm = ", max_norm, "; expected a number >= 0");
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  DESCENT_CHECK(!std::isnan(max_norm), "clip_grad_norm_: max_norm = ", max_norm, "; expected a number");
  check_norm_type(norm_type, "clip_grad_norm_");
  const GradientLayout layout = collect_gradients(params, "clip_grad_norm_");
  const GradNormResult total = norm_type > 0.0 ? global_grad_norm(layout, norm_type) : global_grad_norm(params, norm_type);
  DESCENT_CHECK(!error_if_nonfinite || std::isfinite(total.norm), "clip_grad_norm_: the total norm of order ",
                norm_type, " of the gradients is ", total.norm,
                ", so it cannot be clipped; expected a finite norm (set error_if_nonfinite = false to "
                "scale the gradients by it anyway)");
  const double coef = clip_coefficient(max_norm, total.norm);
  if (coef != 1.0) {
    scale_grads_(layout, coef);
    for (const Tensor& param : params)
      if (param.grad().defined()) param.grad().mark_modified();
  }
  return total.norm;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  DESCENT_CHECK(!std::isnan(clip_value), "clip_grad_value_: clip_value = ", clip_value, "; expected a number");
  scale_and_clamp_grads_(collect_gradients(params, "clip_grad_value_"), 1.0, clip_value);
  for (const Tensor& param : params)
    if (param.grad().defined()) param.grad().mark_modified();
}

}  // namespace descent::transform
