// Fused scaled dot-product attention (forward and hand-written backward) over BLAS products.
#include "descent/autograd/attention.hpp"

#include <cmath>
#include <limits>

#include "descent/autograd/autocast.hpp"
#include "descent/autograd/ops.hpp"
#include "descent/core/blas.hpp"
#include "descent/core/convert.hpp"
#include "kernels.hpp"

namespace descent {

using autograd::SavedTensor;
using namespace autograd::kernel;

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

// Sizes of one call once the batch dimensions of query, key and value are broadcast together.
struct AttentionGeometry {
  Shape batch;  // broadcast batch dimensions
  std::int64_t batch_count = 1, target = 0, source = 0, embed = 0, value_embed = 0;

  Shape with_batch(std::int64_t rows, std::int64_t cols) const {
    Shape s = batch;
    s.push_back(rows);
    s.push_back(cols);
    return s;
  }
};

Shape batch_dims(const Tensor& t) { return Shape(std::span<const std::int64_t>(t.shape().begin(), t.shape().end() - 2)); }

AttentionGeometry check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool is_causal,
                               double dropout_p, Generator* gen) {
  DESCENT_CHECK(q.defined() && k.defined() && v.defined(), kOp, ": query, key or value is undefined");
  DESCENT_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, kOp,
                ": query, key and value need shapes [..., L, E], [..., S, E], [..., S, Ev]; got ", q.shape(), ", ",
                k.shape(), ", ", v.shape());
  DESCENT_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(), kOp, ": dtypes differ (query ",
                dtype_name(q.dtype()), ", key ", dtype_name(k.dtype()), ", value ", dtype_name(v.dtype()), ")");
  AttentionGeometry g;
  g.target = q.size(-2);
  g.embed = q.size(-1);
  g.source = k.size(-2);
  g.value_embed = v.size(-1);
  DESCENT_CHECK(k.size(-1) == g.embed, kOp, ": query of shape ", q.shape(), " and key of shape ", k.shape(),
                " have different embedding sizes (", g.embed, " != ", k.size(-1), ")");
  DESCENT_CHECK(v.size(-2) == g.source, kOp, ": key of shape ", k.shape(), " and value of shape ", v.shape(),
                " have different source lengths (", g.source, " != ", v.size(-2), ")");
  DESCENT_CHECK(g.embed > 0, kOp, ": embedding size must be positive, got query of shape ", q.shape());
  g.batch = broadcast_shapes(broadcast_shapes(batch_dims(q), batch_dims(k), kOp), batch_dims(v), kOp);
  g.batch_count = g.batch.numel();
  if (mask.defined()) {
    DESCENT_CHECK(!is_causal, kOp, ": pass either attn_mask or is_causal, not both (fold the causal mask into "
                  "attn_mask with causal_attention_mask)");
    DESCENT_CHECK(mask.dtype() == q.dtype(), kOp, ": attn_mask must be an additive mask of the query's dtype (",
                  dtype_name(q.dtype()), "), got ", dtype_name(mask.dtype()),
                  "; convert 0/1 masks with attention_mask_from_keep or attention_mask_from_blocked");
    const Shape full = g.with_batch(g.target, g.source);
    bool fits = mask.dim() <= int(full.size());
    for (int i = 1; fits && i <= mask.dim(); ++i) {
      const std::int64_t m = mask.shape()[mask.dim() - i], f = full[full.size() - std::size_t(i)];
      fits = m == f || m == 1;
    }
    DESCENT_CHECK(fits, kOp, ": attn_mask of shape ", mask.shape(), " does not broadcast to the attention shape ",
                  full, " ([..., L, S])");
  }
  DESCENT_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, kOp, ": dropout_p must be in [0, 1], got ", dropout_p);
  DESCENT_CHECK(dropout_p == 0.0 || gen != nullptr, kOp, ": dropout_p = ", dropout_p, " needs a Generator");
  return g;
}

// `t` expanded to the broadcast batch and copied to contiguous [batch_count, rows, cols] (no copy when it
// already is).
Tensor batched(const Tensor& t, const AttentionGeometry& g, std::int64_t rows, std::int64_t cols) {
  NoGradGuard guard;
  Tensor e = t.detach();
  if (e.shape() != g.with_batch(rows, cols)) e = expand(e, g.with_batch(rows, cols));
  return reshape(e.contiguous_copy(), Shape{g.batch_count, rows, cols});
}

// Row-wise softmax of the [rows, cols] scores in place, as descent::softmax does it (max-shifted; a row of
// -inf gives NaN).
template <class T>
void softmax_rows(T* scores, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    T* p = scores + r * cols;
    T m = -std::numeric_limits<T>::infinity();
    for (std::int64_t c = 0; c < cols; ++c) m = std::max(m, p[c]);
    if (m == -std::numeric_limits<T>::infinity()) m = 0;
    T total = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      p[c] = std::exp(p[c] - m);
      total += p[c];
    }
    const T inv = T(1) / total;
    for (std::int64_t c = 0; c < cols; ++c) p[c] *= inv;
  }
}

struct ForwardResult {
  Tensor output;         // [B, L, Ev]
  Tensor probabilities;  // [B, L, S], softmax before dropout
  Tensor dropout_scale;  // [B, L, S] of 0 or 1/(1-p); undefined without dropout
  Tensor saved;          // the probabilities as backward keeps them: in the operands' dtype
};

// C_b = alpha op(A_b) op(B_b) + beta C_b for each of the `batch` products (operands `stride_*` apart):
// one batched call for 16-bit operands, whose per-head products are too small to pay a call each.
template <class T, class Op>
void products(bool ta, bool tb, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
              const Op* a, std::int64_t stride_a, std::int64_t lda, const Op* b, std::int64_t stride_b,
              std::int64_t ldb, T beta, T* c, std::int64_t stride_c, std::int64_t ldc) {
  if constexpr (std::is_same_v<T, Op>) {
    for (std::int64_t i = 0; i < batch; ++i)
      blas::gemm(ta, tb, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
  } else {
    blas::gemm_batched(ta, tb, batch, m, n, k, alpha, a, stride_a, lda, b, stride_b, ldb, beta, c, stride_c, ldc);
  }
}

// `t` (of the result type T) as a product operand of type Op: itself when S is T, else a 16-bit copy.
template <class T, class Op>
Tensor as_operand(const Tensor& t) {
  if constexpr (std::is_same_v<T, Op>) return t;
  else return autograd::to_low_precision(t, dtype_of<Op>());
}

// T is the type of the scores, the softmax and the results; Op the type of q, k, v and of the attention
// weights as product operands (T, or a 16-bit type under autocast with T = float).
template <class T, class Op = T>
ForwardResult attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                const AttentionGeometry& g, double dropout_p, bool is_causal, T scale, Generator* gen) {
  const std::int64_t B = g.batch_count, L = g.target, S = g.source, E = g.embed, Ev = g.value_embed;
  ForwardResult r;
  r.probabilities = empty(Shape{B, L, S}, dtype_of<T>());
  r.output = empty(Shape{B, L, Ev}, dtype_of<T>());
  T* probs = r.probabilities.data<T>();
  const Op* qp = q.data<Op>();
  const Op* kp = k.data<Op>();
  const T* mp = mask.defined() ? mask.data<T>() : nullptr;
  const T neg_inf = -std::numeric_limits<T>::infinity();
  if (mp != nullptr) std::copy(mp, mp + B * L * S, probs);
  products<T, Op>(false, true, B, L, S, E, scale, qp, L * E, E, kp, S * E, E, mp != nullptr ? T(1) : T(0), probs, L * S, S);
  for (std::int64_t b = 0; b < B; ++b) {
    T* s = probs + b * L * S;
    if (is_causal)
      for (std::int64_t i = 0; i < L; ++i)
        for (std::int64_t j = i + 1; j < S; ++j) s[i * S + j] = neg_inf;
    softmax_rows(s, L, S);
  }
  r.saved = as_operand<T, Op>(r.probabilities);
  Tensor weights = r.saved;
  if (dropout_p > 0.0) {
    // Kept with probability 1 - p and scaled by 1 / (1 - p); p = 1 drops everything.
    r.dropout_scale = bernoulli(Shape{B, L, S}, 1.0 - dropout_p, *gen, dtype_of<T>());
    if (dropout_p < 1.0) mul_(r.dropout_scale, 1.0 / (1.0 - dropout_p));
    weights = as_operand<T, Op>(mul(r.probabilities, r.dropout_scale));
  }
  const Op* wp = weights.data<Op>();
  const Op* vp = v.data<Op>();
  T* op = r.output.data<T>();
  products<T, Op>(false, false, B, L, Ev, S, T(1), wp, L * S, S, vp, S * Ev, Ev, T(0), op, L * Ev, Ev);
  return r;
}

struct BackwardResult {
  Tensor grad_query, grad_key, grad_value, grad_scores;  // batched [B, ...] shapes
};

// `probabilities` is ForwardResult::saved (type Op).
template <class T, class Op = T>
BackwardResult attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& probabilities, const Tensor& dropout_scale,
                                  const AttentionGeometry& g, T scale) {
  const std::int64_t B = g.batch_count, L = g.target, S = g.source, E = g.embed, Ev = g.value_embed;
  constexpr bool widened = !std::is_same_v<T, Op>;
  const Tensor go = as_operand<T, Op>(grad_out.contiguous_copy());
  Tensor weights = probabilities;
  if (dropout_scale.defined()) {
    NoGradGuard guard;
    weights = widened ? as_operand<T, Op>(mul(probabilities.to(dtype_of<T>()), dropout_scale))
                      : mul(probabilities, dropout_scale);
  }
  BackwardResult r;
  r.grad_query = empty(Shape{B, L, E}, dtype_of<T>());
  r.grad_key = empty(Shape{B, S, E}, dtype_of<T>());
  r.grad_value = empty(Shape{B, S, Ev}, dtype_of<T>());
  r.grad_scores = empty(Shape{B, L, S}, dtype_of<T>());
  Tensor scores_operand = widened ? empty(Shape{B, L, S}, dtype_of<Op>()) : Tensor();  // dS as Op
  const Op* gp = go.data<Op>();
  const Op* qp = q.data<Op>();
  const Op* kp = k.data<Op>();
  const Op* vp = v.data<Op>();
  const Op* pp = probabilities.data<Op>();
  const Op* wp = weights.data<Op>();
  const T* dp = dropout_scale.defined() ? dropout_scale.data<T>() : nullptr;
  T* dq = r.grad_query.data<T>();
  T* dk = r.grad_key.data<T>();
  T* dv = r.grad_value.data<T>();
  T* ds = r.grad_scores.data<T>();
  // dV = W^T dO; dW = dO V^T, then through dropout, then through the softmax (in place, in ds).
  products<T, Op>(true, false, B, S, Ev, L, T(1), wp, L * S, S, gp, L * Ev, Ev, T(0), dv, S * Ev, Ev);
  products<T, Op>(false, true, B, L, S, Ev, T(1), gp, L * Ev, Ev, vp, S * Ev, Ev, T(0), ds, L * S, S);
  for (std::int64_t b = 0; b < B; ++b) {
    const Op* p_b = pp + b * L * S;
    T* ds_b = ds + b * L * S;
    for (std::int64_t i = 0; i < L; ++i) {
      T* row = ds_b + i * S;
      const Op* p_row = p_b + i * S;
      if (dp != nullptr)
        for (std::int64_t j = 0; j < S; ++j) row[j] *= dp[b * L * S + i * S + j];
      T dot = 0;
      for (std::int64_t j = 0; j < S; ++j) dot += row[j] * convert_element<T>(p_row[j]);
      for (std::int64_t j = 0; j < S; ++j) row[j] = convert_element<T>(p_row[j]) * (row[j] - dot);
    }
  }
  const Op* ds_operand = nullptr;
  if constexpr (widened) {
    convert(ds, scores_operand.data<Op>(), B * L * S);
    ds_operand = scores_operand.data<Op>();
  } else {
    ds_operand = ds;
  }
  products<T, Op>(false, false, B, L, E, S, scale, ds_operand, L * S, S, kp, S * E, E, T(0), dq, L * E, E);
  products<T, Op>(true, false, B, S, E, L, scale, ds_operand, L * S, S, qp, L * E, E, T(0), dk, S * E, E);
  return r;
}

// q, k and v batched as Op (16-bit copies under autocast), the rest as T.
template <class T, class Op>
AttentionResult attention_typed(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask,
                                const AttentionGeometry& g, double dropout_p, bool is_causal, double scale_value,
                                Generator* gen, bool want_weights) {
  const Tensor q = as_operand<T, Op>(batched(query, g, g.target, g.embed));
  const Tensor k = as_operand<T, Op>(batched(key, g, g.source, g.embed));
  const Tensor v = as_operand<T, Op>(batched(value, g, g.source, g.value_embed));
  const Tensor m = attn_mask.defined() ? batched(attn_mask, g, g.target, g.source) : Tensor();
  ForwardResult fwd;
  {
    NoGradGuard guard;
    fwd = attention_forward<T, Op>(q, k, v, m, g, dropout_p, is_causal, T(scale_value), gen);
  }
  AttentionResult result;
  result.output = reshape(fwd.output, g.with_batch(g.target, g.value_embed));
  if (want_weights) {
    NoGradGuard guard;
    Tensor w = fwd.dropout_scale.defined() ? mul(fwd.probabilities, fwd.dropout_scale) : fwd.probabilities;
    result.weights = reshape(w, g.with_batch(g.target, g.source));
  }
  if (autograd::any_needs_grad({&query, &key, &value, &attn_mask})) {
    const bool mask_grad = attn_mask.defined() && attn_mask.requires_grad();
    const Shape q_shape = query.shape(), k_shape = key.shape(), v_shape = value.shape();
    const Shape m_shape = attn_mask.defined() ? attn_mask.shape() : Shape{};
    record(result.output, "ScaledDotProductAttentionBackward", {&query, &key, &value, &attn_mask},
           [qs = SavedTensor(q), ks = SavedTensor(k), vs = SavedTensor(v), ps = SavedTensor(fwd.saved),
            ds = SavedTensor(fwd.dropout_scale), g, scale_value, mask_grad, q_shape, k_shape, v_shape,
            m_shape](const Tensor& grad, std::span<Tensor> grads) {
             const BackwardResult r = attention_backward<T, Op>(
                 reshape(grad, Shape{g.batch_count, g.target, g.value_embed}), qs.unpack(kOp), ks.unpack(kOp),
                 vs.unpack(kOp), ps.unpack(kOp), ds.unpack(kOp), g, T(scale_value));
             grads[0] = sum_to(reshape(r.grad_query, g.with_batch(g.target, g.embed)), q_shape);
             grads[1] = sum_to(reshape(r.grad_key, g.with_batch(g.source, g.embed)), k_shape);
             grads[2] = sum_to(reshape(r.grad_value, g.with_batch(g.source, g.value_embed)), v_shape);
             if (mask_grad) grads[3] = sum_to(reshape(r.grad_scores, g.with_batch(g.target, g.source)), m_shape);
           });
  }
  return result;
}

AttentionResult attention(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask,
                          double dropout_p, bool is_causal, std::optional<double> scale, Generator* gen,
                          bool want_weights) {
  const AttentionGeometry g = check_inputs(query, key, value, attn_mask, is_causal, dropout_p, gen);
  const double scale_value = scale.value_or(1.0 / std::sqrt(double(g.embed)));
  const DType low = autograd::autocast_dtype(query);
  if (low == DType::BFloat16) return attention_typed<float, BFloat16>(query, key, value, attn_mask, g, dropout_p,
                                                                       is_causal, scale_value, gen, want_weights);
  if (low == DType::Float16) return attention_typed<float, Float16>(query, key, value, attn_mask, g, dropout_p,
                                                                     is_causal, scale_value, gen, want_weights);
  return dispatch_floating(query.dtype(), kOp, [&](auto zero) {
    using T = decltype(zero);
    return attention_typed<T, T>(query, key, value, attn_mask, g, dropout_p, is_causal, scale_value, gen,
                                 want_weights);
  });
}

Tensor mask_from_flags(const Tensor& flags, bool blocked_when_set, const char* op) {
  DESCENT_CHECK(flags.defined(), op, ": mask is undefined");
  return dispatch_floating(flags.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    const T neg_inf = -std::numeric_limits<T>::infinity();
    return map1<T>(flags, [&](T x) { return ((x != T(0)) == blocked_when_set) ? neg_inf : T(0); });
  });
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale, Generator* gen) {
  return attention(query, key, value, attn_mask, dropout_p, is_causal, scale, gen, false).output;
}

AttentionResult scaled_dot_product_attention_with_weights(const Tensor& query, const Tensor& key,
                                                          const Tensor& value, const Tensor& attn_mask,
                                                          double dropout_p, bool is_causal,
                                                          std::optional<double> scale, Generator* gen) {
  return attention(query, key, value, attn_mask, dropout_p, is_causal, scale, gen, true);
}

Tensor attention_mask_from_keep(const Tensor& keep) { return mask_from_flags(keep, false, "attention_mask_from_keep"); }

Tensor attention_mask_from_blocked(const Tensor& blocked) {
  return mask_from_flags(blocked, true, "attention_mask_from_blocked");
}

Tensor causal_attention_mask(std::int64_t target_length, std::int64_t source_length, DType dtype) {
  DESCENT_CHECK(target_length >= 0 && source_length >= 0, "causal_attention_mask: lengths must be non-negative, got ",
                target_length, " and ", source_length);
  Tensor mask = zeros(Shape{target_length, source_length}, DType::Float64);
  double* m = mask.data<double>();
  for (std::int64_t i = 0; i < target_length; ++i)
    for (std::int64_t j = i + 1; j < source_length; ++j) m[i * source_length + j] = -INFINITY;
  return dtype == DType::Float64 ? mask : mask.to(dtype);
}

}  // namespace descent
