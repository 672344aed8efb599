#pragma once
// Differentiable layer operations with PyTorch's semantics (torch.nn.functional): convolution, pooling,
// dropout, batch and layer normalisation, embedding lookup. Each records a backward node when grad mode
// is on and a floating input requires grad, and raises descent::Error naming the operation, the bad value
// and the expected form for malformed input. Image operations take [N, C, H, W] tensors.
#include <cstdint>
#include <optional>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

namespace descent {

// A (height, width) pair; a single number means the same value for both, as in PyTorch.
struct Size2d {
  std::int64_t h = 0;
  std::int64_t w = 0;
  Size2d(std::int64_t both) : h(both), w(both) {}  // NOLINT: implicit like PyTorch's int-or-tuple
  Size2d(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  friend bool operator==(const Size2d&, const Size2d&) = default;
};

// ---- convolution (im2col + GEMM)
// input [N, C, H, W], weight [O, C / groups, kH, kW], bias [O] or undefined. Output [N, O, Ho, Wo] with
// Ho = (H + 2 padding.h - dilation.h (kH - 1) - 1) / stride.h + 1 (floor), likewise Wo.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Size2d stride = 1,
              Size2d padding = 0, Size2d dilation = 1, std::int64_t groups = 1);

// ---- pooling. stride defaults to kernel_size. Padding may be at most half the kernel size. With
// ceil_mode the output size rounds up, but a window never starts inside the right/bottom padding.
// Max pooling pads with -infinity and propagates NaN; its gradient goes to the first maximum.
Tensor max_pool2d(const Tensor& input, Size2d kernel_size, std::optional<Size2d> stride = std::nullopt,
                  Size2d padding = 0, Size2d dilation = 1, bool ceil_mode = false);
// count_include_pad: divide by the window size including zero padding (PyTorch's default) or by the
// number of input elements in the window.
Tensor avg_pool2d(const Tensor& input, Size2d kernel_size, std::optional<Size2d> stride = std::nullopt,
                  Size2d padding = 0, bool ceil_mode = false, bool count_include_pad = true);

// ---- dropout: inverted (kept elements scaled by 1 / (1 - p)); the identity when !training or p == 0.
// p must lie in [0, 1). The mask is drawn from `gen`.
Tensor dropout(const Tensor& input, double p, bool training, Generator& gen);

// ---- normalisation
// x [N, C] or [N, C, L] or [N, C, H, W]; statistics per channel C. running_mean / running_var [C] may be
// undefined (then training must be true). weight / bias [C] may be undefined (no affine transform).
// Training normalises with the batch mean and biased variance and, when running statistics are given,
// updates them in place: running = (1 - momentum) running + momentum batch (unbiased variance).
// Eval normalises with the running statistics.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                  double eps = 1e-5);
// Normalises over the trailing dimensions given by normalized_shape; weight / bias have that shape or are
// undefined.
Tensor layer_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), double eps = 1e-5);

// ---- embedding: indices int64 of any shape, weight [num_embeddings, embedding_dim]; output
// indices.shape + [embedding_dim]. The row padding_idx (negative counts from the end) gets no gradient.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx = std::nullopt);

}  // namespace descent
