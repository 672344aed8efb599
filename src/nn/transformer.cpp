#include "descent/nn/transformer.hpp"

#include <cmath>
#include <sstream>

#include "descent/autograd/attention.hpp"
#include "descent/nn/dropout.hpp"
#include "descent/nn/init.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/norm.hpp"

namespace descent::nn {

namespace {

// Holds the encoder layers under the names "0", "1", ... (PyTorch's ModuleList); the encoder calls them.
class LayerList final : public Module {
 public:
  void append(const std::shared_ptr<Module>& layer) { add_child(std::to_string(count_++), layer); }
  Tensor forward(const Tensor&) override {
    throw Error("TransformerEncoder.layers: a layer list has no forward of its own; call the encoder");
  }
  std::string describe() const override { return "ModuleList"; }

 private:
  std::size_t count_ = 0;
};

const char* bool_name(bool b) { return b ? "true" : "false"; }

// [rows, N, E] / [N, rows, E] / [rows, E] -> [N, rows, E].
Tensor to_batch_major(const Tensor& t, bool batch_first, bool unbatched) {
  if (unbatched) return unsqueeze(t, 0);
  return batch_first ? t : transpose(t, 0, 1);
}

Tensor from_batch_major(const Tensor& t, bool batch_first, bool unbatched) {
  if (unbatched) return squeeze(t, 0);
  return batch_first ? t : transpose(t, 0, 1);
}

// [N, rows, E] -> [N, heads, rows, E / heads]
Tensor split_heads(const Tensor& t, std::int64_t heads) {
  return transpose(reshape(t, Shape{t.size(0), t.size(1), heads, t.size(2) / heads}), 1, 2);
}

}  // namespace

// ---------------------------------------------------------------- MultiheadAttention

MultiheadAttention::MultiheadAttention(const MultiheadAttentionOptions& options, Generator& gen) : options_(options) {
  const std::int64_t e = options.embed_dim, h = options.num_heads;
  DESCENT_CHECK(e > 0 && h > 0, "MultiheadAttention: embed_dim and num_heads must be positive, got ", e, " and ", h);
  DESCENT_CHECK(e % h == 0, "MultiheadAttention: embed_dim (", e, ") must be divisible by num_heads (", h, ")");
  DESCENT_CHECK(options.dropout >= 0.0 && options.dropout < 1.0, "MultiheadAttention: dropout must be in [0, 1), got ",
                options.dropout);
  Tensor w = empty(Shape{3 * e, e}, options.dtype);
  init::xavier_uniform_(w, gen);
  in_proj_weight_ = register_parameter("in_proj_weight", w);
  if (options.bias) in_proj_bias_ = register_parameter("in_proj_bias", zeros(Shape{3 * e}, options.dtype));
  out_proj_ = register_module("out_proj", std::make_shared<Linear>(e, e, gen, options.bias, options.dtype));
  if (options.bias) init::zeros_(out_proj_->bias());
  dropout_gen_ = gen.fork(0x4d4841);  // "MHA"
}

MultiheadAttentionResult MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                     const AttentionMasks& masks, bool need_weights,
                                                     bool average_attn_weights) {
  const std::int64_t e = options_.embed_dim, heads = options_.num_heads;
  const bool bf = options_.batch_first;
  DESCENT_CHECK(query.defined() && key.defined() && value.defined(),
                "MultiheadAttention: query, key or value is undefined");
  const char* layout = bf ? "[N, L, E]" : "[L, N, E]";
  DESCENT_CHECK((query.dim() == 3 || query.dim() == 2) && query.size(-1) == e, "MultiheadAttention: query must be ",
                layout, " or unbatched [L, E] with E = embed_dim = ", e, ", got shape ", query.shape());
  DESCENT_CHECK(key.dim() == query.dim() && value.dim() == query.dim() && key.shape() == value.shape() &&
                    key.size(-1) == e,
                "MultiheadAttention: key and value must have the same shape, of query's rank, with last dimension ",
                e, "; got query ", query.shape(), ", key ", key.shape(), ", value ", value.shape());
  const bool unbatched = query.dim() == 2;
  const Tensor q_in = to_batch_major(query, bf, unbatched);
  const Tensor k_in = to_batch_major(key, bf, unbatched);
  const Tensor v_in = to_batch_major(value, bf, unbatched);
  const std::int64_t batch = q_in.size(0), target = q_in.size(1), source = k_in.size(1);
  DESCENT_CHECK(k_in.size(0) == batch, "MultiheadAttention: query ", query.shape(), " and key ", key.shape(),
                " have different batch sizes");

  // Projections: one GEMM for self-attention, three slices of the packed weight otherwise.
  Tensor q, k, v;
  auto bias_part = [&](std::int64_t i) { return in_proj_bias_.defined() ? narrow(in_proj_bias_, 0, i * e, e) : Tensor(); };
  if (query.impl() == key.impl() && key.impl() == value.impl()) {
    const auto qkv = chunk(linear(q_in, in_proj_weight_, in_proj_bias_), 3, -1);
    q = qkv[0];
    k = qkv[1];
    v = qkv[2];
  } else {
    q = linear(q_in, narrow(in_proj_weight_, 0, 0, e), bias_part(0));
    k = linear(k_in, narrow(in_proj_weight_, 0, e, e), bias_part(1));
    v = linear(v_in, narrow(in_proj_weight_, 0, 2 * e, e), bias_part(2));
  }

  // One additive mask of shape broadcastable to [N, heads, L, S].
  Tensor mask;
  if (masks.attn_mask.defined()) {
    const Tensor& m = masks.attn_mask;
    const bool is_2d = m.dim() == 2 && m.size(0) == target && m.size(1) == source;
    const bool is_3d = m.dim() == 3 && m.size(0) == batch * heads && m.size(1) == target && m.size(2) == source;
    DESCENT_CHECK(is_2d || is_3d, "MultiheadAttention: attn_mask must have shape [", target, ", ", source, "] or [",
                  batch * heads, ", ", target, ", ", source, "] (N * num_heads, L, S), got ", m.shape());
    DESCENT_CHECK(m.dtype() == query.dtype(), "MultiheadAttention: attn_mask must be an additive ",
                  dtype_name(query.dtype()), " mask, got ", dtype_name(m.dtype()));
    mask = is_2d ? m : reshape(m, Shape{batch, heads, target, source});
  }
  if (masks.key_padding_mask.defined()) {
    const Tensor& m = masks.key_padding_mask;
    const Shape expected = unbatched ? Shape{source} : Shape{batch, source};
    DESCENT_CHECK(m.shape() == expected, "MultiheadAttention: key_padding_mask must have shape ", expected,
                  " ([N, S]), got ", m.shape());
    DESCENT_CHECK(m.dtype() == query.dtype(), "MultiheadAttention: key_padding_mask must be an additive ",
                  dtype_name(query.dtype()), " mask, got ", dtype_name(m.dtype()));
    const Tensor padding = reshape(m, Shape{batch, 1, 1, source});
    mask = mask.defined() ? add(mask, padding) : padding;
  }
  bool causal = masks.is_causal;
  if (causal && mask.defined()) {
    mask = add(mask, causal_attention_mask(target, source, query.dtype()));
    causal = false;
  }

  const double p = is_training() ? options_.dropout : 0.0;
  const Tensor qh = split_heads(q, heads), kh = split_heads(k, heads), vh = split_heads(v, heads);
  MultiheadAttentionResult result;
  Tensor attended;
  if (need_weights) {
    AttentionResult r =
        scaled_dot_product_attention_with_weights(qh, kh, vh, mask, p, causal, std::nullopt, &dropout_gen_);
    attended = r.output;
    result.weights = average_attn_weights ? mean(r.weights, {1}) : r.weights;
    if (unbatched) result.weights = squeeze(result.weights, 0);
  } else {
    attended = scaled_dot_product_attention(qh, kh, vh, mask, p, causal, std::nullopt, &dropout_gen_);
  }
  const Tensor merged = reshape(transpose(attended, 1, 2), Shape{batch, target, e});
  result.output = from_batch_major(out_proj_->forward(merged), bf, unbatched);
  return result;
}

Tensor MultiheadAttention::forward(const Tensor& input) { return forward(input, input, input, {}, false).output; }

std::string MultiheadAttention::describe() const {
  std::ostringstream out;
  out << "MultiheadAttention(embed_dim=" << options_.embed_dim << ", num_heads=" << options_.num_heads
      << ", dropout=" << options_.dropout << ", bias=" << bool_name(options_.bias)
      << ", batch_first=" << bool_name(options_.batch_first) << ")";
  return out.str();
}

// ---------------------------------------------------------------- TransformerEncoderLayer

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerOptions& options, Generator& gen)
    : options_(options) {
  DESCENT_CHECK(options.activation == "relu" || options.activation == "gelu",
                "TransformerEncoderLayer: activation must be 'relu' or 'gelu', got '", options.activation, "'");
  DESCENT_CHECK(options.dim_feedforward > 0, "TransformerEncoderLayer: dim_feedforward must be positive, got ",
                options.dim_feedforward);
  DESCENT_CHECK(options.dropout >= 0.0 && options.dropout < 1.0,
                "TransformerEncoderLayer: dropout must be in [0, 1), got ", options.dropout);
  DESCENT_CHECK(options.layer_norm_eps > 0.0, "TransformerEncoderLayer: layer_norm_eps must be positive, got ",
                options.layer_norm_eps);
  self_attn_ = register_module("self_attn", std::make_shared<MultiheadAttention>(
                                                MultiheadAttentionOptions{.embed_dim = options.d_model,
                                                                          .num_heads = options.nhead,
                                                                          .dropout = options.dropout,
                                                                          .batch_first = options.batch_first,
                                                                          .dtype = options.dtype},
                                                gen));
  linear1_ = register_module("linear1",
                             std::make_shared<Linear>(options.d_model, options.dim_feedforward, gen, true, options.dtype));
  linear2_ = register_module("linear2",
                             std::make_shared<Linear>(options.dim_feedforward, options.d_model, gen, true, options.dtype));
  auto make_norm = [&] {
    return std::make_shared<LayerNorm>(std::vector<std::int64_t>{options.d_model}, options.layer_norm_eps, true, true,
                                       options.dtype);
  };
  norm1_ = register_module("norm1", make_norm());
  norm2_ = register_module("norm2", make_norm());
  dropout_ = register_module("dropout", std::make_shared<Dropout>(options.dropout, gen.next_u64()));
  dropout1_ = register_module("dropout1", std::make_shared<Dropout>(options.dropout, gen.next_u64()));
  dropout2_ = register_module("dropout2", std::make_shared<Dropout>(options.dropout, gen.next_u64()));
}

Tensor TransformerEncoderLayer::self_attention_block(const Tensor& x, const AttentionMasks& masks) {
  return dropout1_->forward(self_attn_->forward(x, x, x, masks, false).output);
}

Tensor TransformerEncoderLayer::feedforward_block(const Tensor& x) {
  Tensor hidden = linear1_->forward(x);
  hidden = options_.activation == "relu" ? relu(hidden) : gelu(hidden);
  return dropout2_->forward(linear2_->forward(dropout_->forward(hidden)));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const AttentionMasks& masks) {
  DESCENT_CHECK(src.defined() && (src.dim() == 2 || src.dim() == 3) && src.size(-1) == options_.d_model,
                "TransformerEncoderLayer: src must be ", options_.batch_first ? "[N, S, d_model]" : "[S, N, d_model]",
                " or unbatched [S, d_model] with d_model = ", options_.d_model, ", got shape ",
                src.defined() ? src.shape() : Shape{});
  Tensor x = src;
  if (options_.norm_first) {
    x = add(x, self_attention_block(norm1_->forward(x), masks));
    x = add(x, feedforward_block(norm2_->forward(x)));
  } else {
    x = norm1_->forward(add(x, self_attention_block(x, masks)));
    x = norm2_->forward(add(x, feedforward_block(x)));
  }
  return x;
}

std::string TransformerEncoderLayer::describe() const {
  std::ostringstream out;
  out << "TransformerEncoderLayer(d_model=" << options_.d_model << ", nhead=" << options_.nhead
      << ", dim_feedforward=" << options_.dim_feedforward << ", dropout=" << options_.dropout
      << ", activation=" << options_.activation << ", layer_norm_eps=" << options_.layer_norm_eps
      << ", batch_first=" << bool_name(options_.batch_first) << ", norm_first=" << bool_name(options_.norm_first)
      << ")";
  return out.str();
}

// ---------------------------------------------------------------- TransformerEncoder

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayerOptions& layer_options, std::int64_t num_layers,
                                       Generator& gen, bool final_norm) {
  DESCENT_CHECK(num_layers >= 1, "TransformerEncoder: num_layers must be at least 1, got ", num_layers);
  auto list = register_module("layers", std::make_shared<LayerList>());
  for (std::int64_t i = 0; i < num_layers; ++i) {
    auto layer = std::make_shared<TransformerEncoderLayer>(layer_options, gen);
    if (i > 0) layer->load_state_dict(layers_.front()->state_dict());
    list->append(layer);
    layers_.push_back(layer);
  }
  if (final_norm) {
    norm_ = register_module("norm", std::make_shared<LayerNorm>(std::vector<std::int64_t>{layer_options.d_model},
                                                                layer_options.layer_norm_eps, true, true,
                                                                layer_options.dtype));
  }
}

Tensor TransformerEncoder::forward(const Tensor& src, const AttentionMasks& masks) {
  Tensor x = src;
  for (auto& layer : layers_) x = layer->forward(x, masks);
  return norm_ ? norm_->forward(x) : x;
}

std::string TransformerEncoder::describe() const {
  return "TransformerEncoder(num_layers=" + std::to_string(layers_.size()) + ", norm=" + bool_name(norm_ != nullptr) +
         ")";
}

}  // namespace descent::nn
