#pragma once
// Scaled dot-product attention with the semantics of torch.nn.functional.scaled_dot_product_attention:
//
//   weights = softmax(Q K^T * scale + mask)          scale defaults to 1 / sqrt(E)
//   output  = dropout(weights, p) V
//
// computed as one fused node: the forward keeps the softmax probabilities, the backward is written out
// (dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)), dQ = scale dS K, dK = scale dS^T Q), so the
// graph holds one node per call instead of the half-dozen a composition would record.
//
// Masks are float tensors and ADDITIVE, exactly as a float mask in PyTorch: they are added to the scaled
// scores (use -inf to forbid a position). descent has no bool dtype; turn 0/1 masks into additive ones
// with attention_mask_from_keep (1 = may attend, the meaning of a bool mask in torch's SDPA) or
// attention_mask_from_blocked (1 = masked out, the meaning of a bool mask in nn.MultiheadAttention).
// A row whose every position is -inf yields NaN, as in PyTorch's reference (math) implementation.
#include <optional>

#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

namespace descent {

// query [..., L, E], key [..., S, E], value [..., S, Ev] -> [..., L, Ev]; batch dimensions broadcast.
// attn_mask broadcasts to [..., L, S] and may require grad. is_causal masks positions j > i (top-left
// aligned, torch's tril) and excludes attn_mask. dropout_p > 0 needs a generator.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = Tensor(), double dropout_p = 0.0,
                                    bool is_causal = false, std::optional<double> scale = std::nullopt,
                                    Generator* gen = nullptr);

struct AttentionResult {
  Tensor output;   // [..., L, Ev], differentiable
  Tensor weights;  // [..., L, S], the attention probabilities after dropout; outside the graph
};

// The same computation that also returns the attention weights (what nn.MultiheadAttention reports).
AttentionResult scaled_dot_product_attention_with_weights(const Tensor& query, const Tensor& key,
                                                          const Tensor& value, const Tensor& attn_mask = Tensor(),
                                                          double dropout_p = 0.0, bool is_causal = false,
                                                          std::optional<double> scale = std::nullopt,
                                                          Generator* gen = nullptr);

// 0 where keep != 0, -inf where keep == 0 (same shape and dtype).
Tensor attention_mask_from_keep(const Tensor& keep);
// 0 where blocked == 0, -inf where blocked != 0.
Tensor attention_mask_from_blocked(const Tensor& blocked);
// [L, S] additive mask with -inf above the diagonal (position i may attend to j <= i).
Tensor causal_attention_mask(std::int64_t target_length, std::int64_t source_length, DType dtype = DType::Float32);

}  // namespace descent
