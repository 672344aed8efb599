#pragma once
// Multi-head attention and the transformer encoder, with the semantics and parameter names of PyTorch's
// nn.MultiheadAttention, nn.TransformerEncoderLayer and nn.TransformerEncoder, so that state dicts
// move between the two by name.
//
// Masks are additive float tensors (see descent/autograd/attention.hpp): PyTorch's meaning of a float
// mask. Turn PyTorch-style bool masks (true = may not attend) into additive ones with
// attention_mask_from_blocked.
//
// Not supported: kdim/vdim different from embed_dim, add_bias_kv, add_zero_attn, the decoder.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/nn/module.hpp"

namespace descent::nn {

class Dropout;
class LayerNorm;
class Linear;

struct MultiheadAttentionOptions {
  std::int64_t embed_dim = 0;
  std::int64_t num_heads = 1;  // must divide embed_dim
  double dropout = 0.0;        // on the attention weights, training mode only
  bool bias = true;
  bool batch_first = false;    // [N, L, E] instead of [L, N, E]
  DType dtype = DType::Float32;
};

struct AttentionMasks {
  // [N, S] ([S] unbatched), added to every query's scores of that batch entry.
  Tensor key_padding_mask{};
  // [L, S] or [N * num_heads, L, S], added to the scores.
  Tensor attn_mask{};
  // Also forbid attending to later positions (j > i), on top of attn_mask.
  bool is_causal = false;
};

struct MultiheadAttentionResult {
  Tensor output;   // like query: [L, N, E], [N, L, E] with batch_first, [L, E] unbatched
  Tensor weights;  // [N, L, S] averaged over heads or [N, num_heads, L, S]; undefined unless asked for.
                   // Outside the graph.
};

// Parameters: in_proj_weight [3E, E] (query, key, value projections stacked), in_proj_bias [3E],
// out_proj.weight [E, E], out_proj.bias [E]; initialised as PyTorch does (xavier_uniform for
// in_proj_weight, zeros for both biases, nn.Linear's default for out_proj.weight).
class MultiheadAttention : public Module {
 public:
  MultiheadAttention(const MultiheadAttentionOptions& options, Generator& gen);

  // query [L, N, E] (or [N, L, E] with batch_first, or unbatched [L, E]); key and value [S, N, E] alike.
  MultiheadAttentionResult forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const AttentionMasks& masks = {}, bool need_weights = true,
                                   bool average_attn_weights = true);
  // Self-attention without masks; the output only.
  Tensor forward(const Tensor& input) override;
  std::string describe() const override;
  const MultiheadAttentionOptions& options() const { return options_; }

 private:
  MultiheadAttentionOptions options_;
  Tensor in_proj_weight_, in_proj_bias_;
  std::shared_ptr<Linear> out_proj_;
  std::vector<std::pair<std::string, Generator*>> own_generators() override { return {{"dropout_generator", &dropout_gen_}}; }
  Generator dropout_gen_;
};

struct TransformerEncoderLayerOptions {
  std::int64_t d_model = 0;
  std::int64_t nhead = 1;
  std::int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  std::string activation = "relu";  // "relu" or "gelu"
  double layer_norm_eps = 1e-5;
  bool batch_first = false;
  bool norm_first = false;  // pre-norm (x + f(norm(x))) instead of post-norm (norm(x + f(x)))
  DType dtype = DType::Float32;
};

// Children self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2, as in PyTorch.
class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(const TransformerEncoderLayerOptions& options, Generator& gen);

  // src like MultiheadAttention's query; src_mask is attn_mask, src_key_padding_mask is key_padding_mask.
  Tensor forward(const Tensor& src, const AttentionMasks& masks);
  Tensor forward(const Tensor& src) override { return forward(src, AttentionMasks{}); }
  std::string describe() const override;
  const TransformerEncoderLayerOptions& options() const { return options_; }

 private:
  Tensor self_attention_block(const Tensor& x, const AttentionMasks& masks);
  Tensor feedforward_block(const Tensor& x);

  TransformerEncoderLayerOptions options_;
  std::shared_ptr<MultiheadAttention> self_attn_;
  std::shared_ptr<Linear> linear1_, linear2_;
  std::shared_ptr<LayerNorm> norm1_, norm2_;
  std::shared_ptr<Dropout> dropout_, dropout1_, dropout2_;
};

// num_layers encoder layers (children layers.0, layers.1, ...) and an optional final LayerNorm ("norm").
// As in PyTorch, which deep-copies one layer, every layer starts with the same parameters.
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerEncoderLayerOptions& layer_options, std::int64_t num_layers, Generator& gen,
                     bool final_norm = false);

  Tensor forward(const Tensor& src, const AttentionMasks& masks);
  Tensor forward(const Tensor& src) override { return forward(src, AttentionMasks{}); }
  std::string describe() const override;
  TransformerEncoderLayer& layer(std::size_t i) { return *layers_.at(i); }
  std::size_t num_layers() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers_;
  std::shared_ptr<LayerNorm> norm_;  // null without a final norm
};

}  // namespace descent::nn
