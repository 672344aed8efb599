#pragma once
// In-place gradient clipping with PyTorch's semantics (torch.nn.utils.clip_grad_norm_ and
// clip_grad_value_), for callers that clip outside a GradientPipeline.
//
// clip_grad_norm_: total = ||all gradients as one vector||_p (for norm_type 0, negative p and -inf PyTorch's
// norm of the per-tensor norms, grad_norm.hpp); coef = max_norm / (total + 1e-6), clamped
// to at most 1; every gradient *= coef. Returns total (before clipping). Like PyTorch, a NaN/Inf total
// is multiplied in unless error_if_nonfinite is set, in which case a descent::Error naming the norm is
// raised and the gradients are left untouched. Unlike PyTorch, when coef == 1 the multiply is skipped
// (it would not change a bit).
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::transform {

// PyTorch's added term that keeps the coefficient finite for a zero norm.
inline constexpr double kClipNormEpsilon = 1e-6;

// min(1, max_norm / (total_norm + 1e-6)); NaN stays NaN (torch.clamp propagates it).
double clip_coefficient(double max_norm, double total_norm);

// Throws naming `where` unless max_norm >= 0 (inf allowed: never clips): for configs and the pipeline.
// clip_grad_norm_ itself takes any max_norm, as PyTorch does (a negative one flips the gradients' sign).
void check_max_norm(double max_norm, const char* where);

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value] (torch.clamp: a negative clip_value sets every
// element to clip_value). NaN stays NaN.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace descent::transform
