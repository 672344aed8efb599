#pragma once
// Adaptive gradient clipping, AGC (Brock, De, Smith, Simonyan 2021, "High-Performance Large-Scale Image
// Recognition Without Normalization", section 4.1), in the form of the authors' and timm's code.
//
// For every unit i of a parameter W with gradient G:
//   max_norm_i = clipping * max(||W_i||, eps)
//   G_i <- G_i * max_norm_i / max(||G_i||, 1e-6)   when ||G_i|| > max_norm_i, else unchanged
// Norms are Frobenius norms. A unit is a slice along dimension 0: a row of a matrix stored (out, in), an
// output channel of a convolution weight (out, in, kh, kw); a tensor of rank <= 1 (bias, gain, scalar) is
// one unit. The paper does not clip the final classifier layer: pass the parameters to clip only.
// `grad_multiplier` (a loss scaler's inv_scale) is applied to G first, in the gradient's dtype, and stays
// applied: the result is the clipped unscaled gradient.
#include <cstdint>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::transform {

struct AgcOptions {
  double clipping = 0.01;  // lambda, > 0 (the paper uses 0.01 to 0.16 depending on batch size)
  double eps = 1e-3;       // floor of the weight norm, >= 0, so zero-initialised weights still move
};

void check_agc_options(const AgcOptions& options, const char* where);

// Clips in place; returns the number of units that were clipped.
std::int64_t adaptive_grad_clip_(const std::vector<Tensor>& params, AgcOptions options = {},
                                 double grad_multiplier = 1.0);

}  // namespace descent::transform
