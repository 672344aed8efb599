#pragma once
// The global gradient norm (all gradients taken as one vector, torch.nn.utils.get_total_norm) computed
// in one reduction pass that also detects NaN/Inf, and the in-place whole-gradient rescale.
//
// Norm types: 1, 2, +inf (max |g|) and any finite p > 0 ((sum |g|^p)^(1/p)) in one fused pass; and, as
// PyTorch accepts them, 0, negative p and -inf through PyTorch's two-level rule (each tensor's norm, then
// the norm of those: for 0, the number of tensors holding a non-zero element), by a plain loop over the
// parameters (the GradientLayout overload refuses them). Elements are accumulated in double whatever the
// gradient dtype. `grad_multiplier` is applied to each element in the gradient's
// own dtype before it enters the norm, so norm(g, m) equals the norm taken after an in-place `g *= m`
// (this is how the norm of the unscaled gradient is read off the loss-scaled one without unscaling).
//
// The fast path splits the merged runs into fixed blocks of elements, reduces each block with several
// independent accumulators (so the compiler vectorises without reassociating a single sum) and combines
// the block partials in block order: the result depends on neither the thread count nor the scheduling.
#include <limits>
#include <vector>

#include "descent/core/tensor.hpp"
#include "descent/transform/gradient_runs.hpp"

namespace descent::transform {

inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

// Throws naming `where` when norm_type is NaN.
void check_norm_type(double norm_type, const char* where);

struct GradNormResult {
  // The norm; NaN when some element is NaN, +inf when some element is infinite (torch's convention).
  double norm = 0.0;
  bool found_nonfinite = false;  // some gradient element (after the multiplier) is NaN or infinite
};

GradNormResult global_grad_norm(const std::vector<Tensor>& params, double norm_type = 2.0,
                                double grad_multiplier = 1.0);
GradNormResult global_grad_norm(const GradientLayout& layout, double norm_type = 2.0,
                                double grad_multiplier = 1.0);

// The same quantity by a plain per-tensor, per-element loop: the ground truth for the fast path.
GradNormResult global_grad_norm_reference(const std::vector<Tensor>& params, double norm_type = 2.0,
                                          double grad_multiplier = 1.0);

// g *= factor over every gradient, one parallel pass (the factor is rounded to each gradient's dtype).
void scale_grads_(const std::vector<Tensor>& params, double factor);
void scale_grads_(const GradientLayout& layout, double factor);

// g = clamp(g * grad_multiplier, -limit, limit) over every gradient, one parallel pass (torch.clamp: a
// negative limit sets every element to it; NaN stays NaN).
void scale_and_clamp_grads_(const GradientLayout& layout, double grad_multiplier, double limit);

}  // namespace descent::transform
