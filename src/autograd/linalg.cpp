// Matrix products through BLAS and the fused linear layer.
#include "descent/autograd/autocast.hpp"
#include "descent/autograd/ops.hpp"
#include "descent/core/blas.hpp"
#include "kernels.hpp"

namespace descent {

using autograd::autocast_dtype;
using autograd::cast_for_autocast;
using autograd::needs_grad;
using autograd::SavedTensor;
using autograd::to_low_precision;
using namespace autograd::kernel;

namespace {

// A 2-D operand as BLAS sees it: data pointer, leading dimension and whether it is transposed.
struct GemmOperand {
  Tensor holder;  // keeps a contiguous copy alive when one was needed
  bool transposed = false;
  std::int64_t ld = 0;
};

GemmOperand gemm_operand(const Tensor& t) {
  const std::int64_t rows = t.shape()[0], cols = t.shape()[1];
  if (t.strides()[1] == 1 && (t.strides()[0] >= std::max<std::int64_t>(cols, 1) || rows == 1))
    return {t, false, std::max<std::int64_t>(t.strides()[0], std::max<std::int64_t>(cols, 1))};
  if (t.strides()[0] == 1 && (t.strides()[1] >= std::max<std::int64_t>(rows, 1) || cols == 1))
    return {t, true, std::max<std::int64_t>(t.strides()[1], std::max<std::int64_t>(rows, 1))};
  Tensor c = t.clone();
  return {c, false, std::max<std::int64_t>(cols, 1)};
}

// out (contiguous [m, n]) = a @ b + beta * out
template <class T>
void gemm_into(const Tensor& a, const Tensor& b, Tensor& out, T beta) {
  const std::int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == T(0)) out.zero_();
    return;
  }
  GemmOperand ga = gemm_operand(a), gb = gemm_operand(b);
  blas::gemm(ga.transposed, gb.transposed, m, n, k, T(1), ga.holder.template data<T>(), ga.ld,
             gb.holder.template data<T>(), gb.ld, beta, out.data<T>(), std::max<std::int64_t>(n, 1));
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  DESCENT_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", dtype_name(a.dtype()), " and ",
                dtype_name(b.dtype()), ")");
}

// ---- Autocast: 16-bit operands, float32 accumulation and results.

// out (float32, contiguous [m, n]) = alpha * a @ b + beta * out for 2-D operands of one 16-bit dtype.
void gemm_low_into(const Tensor& a, const Tensor& b, Tensor& out, float alpha, float beta) {
  const std::int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0f) out.zero_();
    return;
  }
  GemmOperand ga = gemm_operand(a), gb = gemm_operand(b);
  const auto run = [&](auto zero) {
    using S = decltype(zero);
    blas::gemm(ga.transposed, gb.transposed, m, n, k, alpha, ga.holder.template data<S>(), ga.ld,
               gb.holder.template data<S>(), gb.ld, beta, out.data<float>(), std::max<std::int64_t>(n, 1));
  };
  if (a.dtype() == DType::BFloat16) run(BFloat16{});
  else run(Float16{});
}

Tensor mm_low(const Tensor& a, const Tensor& b) {
  Tensor out = empty(Shape{a.shape()[0], b.shape()[1]}, DType::Float32);
  gemm_low_into(a, b, out, 1.0f, 0.0f);
  return out;
}

Tensor bmm_low(const Tensor& a, const Tensor& b) {
  const std::int64_t batch = a.shape()[0];
  Tensor out = empty(Shape{batch, a.shape()[1], b.shape()[2]}, DType::Float32);
  NoGradGuard guard;
  for (std::int64_t i = 0; i < batch; ++i) {
    Tensor o = select(out, 0, i);
    gemm_low_into(select(a, 0, i), select(b, 0, i), o, 1.0f, 0.0f);
  }
  return out;
}

// mm or bmm (rank 2 or 3) of float32 inputs with 16-bit operands; the backward products take the
// gradient in the same dtype.
Tensor product_autocast(const Tensor& a, const Tensor& b, DType dtype, bool batched) {
  const Tensor al = cast_for_autocast(a, dtype), bl = cast_for_autocast(b, dtype);
  Tensor out = batched ? bmm_low(al, bl) : mm_low(al, bl);
  if (needs_grad(a, b)) {
    const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
    record(out, batched ? "BmmBackward" : "MmBackward", {&a, &b},
           [x = SavedTensor(al), y = SavedTensor(bl), grad_a, grad_b, dtype, batched](const Tensor& g,
                                                                                       std::span<Tensor> grads) {
             const Tensor gl = to_low_precision(g, dtype);
             const int r = batched ? 1 : 0;
             const auto prod = [&](const Tensor& p, const Tensor& q) { return batched ? bmm_low(p, q) : mm_low(p, q); };
             if (grad_a) grads[0] = prod(gl, transpose(y.unpack("matmul"), r, r + 1));
             if (grad_b) grads[1] = prod(transpose(x.unpack("matmul"), r, r + 1), gl);
           });
  }
  return out;
}

// 2-D product with gradient.
Tensor mm(const Tensor& a, const Tensor& b) {
  check_same_dtype(a, b, "matmul");
  DESCENT_CHECK(a.shape()[1] == b.shape()[0], "matmul: shapes ", a.shape(), " and ", b.shape(),
                " cannot be multiplied (", a.shape()[1], " != ", b.shape()[0], ")");
  if (const DType low = autocast_dtype(a); low != DType::Float32) return product_autocast(a, b, low, false);
  return dispatch_floating(a.dtype(), "matmul", [&](auto zero) {
    using T = decltype(zero);
    Tensor out = empty(Shape{a.shape()[0], b.shape()[1]}, a.dtype());
    gemm_into<T>(a, b, out, T(0));
    if (needs_grad(a, b)) {
      const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
      record(out, "MmBackward", {&a, &b},
             [x = SavedTensor(a), y = SavedTensor(b), grad_a, grad_b](const Tensor& g,
                                                                                         std::span<Tensor> grads) {
               if (grad_a) grads[0] = mm(g, transpose(y.unpack("matmul"), 0, 1));
               if (grad_b) grads[1] = mm(transpose(x.unpack("matmul"), 0, 1), g);
             });
    }
    return out;
  });
}

// [B, m, k] @ [B, k, n] with gradient.
Tensor bmm(const Tensor& a, const Tensor& b) {
  check_same_dtype(a, b, "matmul");
  const std::int64_t batch = a.shape()[0];
  if (const DType low = autocast_dtype(a); low != DType::Float32) return product_autocast(a, b, low, true);
  return dispatch_floating(a.dtype(), "matmul", [&](auto zero) {
    using T = decltype(zero);
    Tensor out = empty(Shape{batch, a.shape()[1], b.shape()[2]}, a.dtype());
    {
      NoGradGuard guard;
      for (std::int64_t i = 0; i < batch; ++i) {
        Tensor o = select(out, 0, i);
        gemm_into<T>(select(a, 0, i), select(b, 0, i), o, T(0));
      }
    }
    if (needs_grad(a, b)) {
      const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
      record(out, "BmmBackward", {&a, &b},
             [x = SavedTensor(a), y = SavedTensor(b), grad_a, grad_b](const Tensor& g,
                                                                                         std::span<Tensor> grads) {
               if (grad_a) grads[0] = bmm(g, transpose(y.unpack("matmul"), 1, 2));
               if (grad_b) grads[1] = bmm(transpose(x.unpack("matmul"), 1, 2), g);
             });
    }
    return out;
  });
}

// Sums of the columns of a 2-D gradient (the bias gradient), in one pass over its rows.
template <class T>
Tensor column_sums(const Tensor& g) {
  const std::int64_t rows = g.shape()[0], cols = g.shape()[1];
  Tensor out = zeros(Shape{cols}, g.dtype());
  T* o = out.data<T>();
  if (g.strides()[1] == 1) {
    const T* base = storage_base<T>(g) + g.offset();
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* row = base + r * g.strides()[0];
      for (std::int64_t c = 0; c < cols; ++c) o[c] += row[c];
    }
    return out;
  }
  return sum(g, {0});
}

// x [rows, in] W^T + bias with 16-bit x and W; the bias and the result are float32.
Tensor linear_autocast(const Tensor& x, const Tensor& weight, const Tensor& bias, DType dtype) {
  const Tensor xl = cast_for_autocast(x, dtype), wl = cast_for_autocast(weight, dtype);
  const std::int64_t rows = x.shape()[0], out_features = weight.shape()[0];
  Tensor out = empty(Shape{rows, out_features}, DType::Float32);
  float beta = 0.0f;
  if (bias.defined()) {
    const Tensor b = bias.is_contiguous() ? bias : bias.contiguous_copy();
    const float* bp = b.data<float>();
    float* o = out.data<float>();
    for (std::int64_t r = 0; r < rows; ++r) std::copy(bp, bp + out_features, o + r * out_features);
    beta = 1.0f;
  }
  gemm_low_into(xl, transpose(wl, 0, 1), out, 1.0f, beta);
  if (autograd::any_needs_grad({&x, &weight, &bias})) {
    const bool grad_x = x.requires_grad(), grad_w = weight.requires_grad();
    const bool grad_b = bias.defined() && bias.requires_grad();
    record(out, "LinearBackward", {&x, &weight, &bias},
           [xs = SavedTensor(autograd::saved_operand(x, xl)), ws = SavedTensor(wl), grad_x, grad_w, grad_b,
            dtype](const Tensor& g, std::span<Tensor> grads) {
             const Tensor gl = to_low_precision(g, dtype);
             if (grad_x) grads[0] = mm_low(gl, ws.unpack("linear"));  // dx = g W
             if (grad_w)                                             // dW = g^T x
               grads[1] = mm_low(transpose(gl, 0, 1), autograd::operand_for_backward(xs.unpack("linear"), dtype));
             if (grad_b) grads[2] = column_sums<float>(g.is_contiguous() ? g : g.contiguous_copy());
           });
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  DESCENT_CHECK(a.defined() && b.defined(), "matmul: input tensor is undefined");
  DESCENT_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least one dimension, got shapes ",
                a.shape(), " and ", b.shape());
  if (a.dim() == 1 && b.dim() == 1) {
    DESCENT_CHECK(a.shape()[0] == b.shape()[0], "matmul: vectors of sizes ", a.shape()[0], " and ", b.shape()[0]);
    return reshape(mm(unsqueeze(a, 0), unsqueeze(b, 1)), Shape{});
  }
  if (a.dim() == 2 && b.dim() == 2) return mm(a, b);
  if (a.dim() == 1 && b.dim() == 2) return squeeze(mm(unsqueeze(a, 0), b), 0);
  if (a.dim() == 2 && b.dim() == 1) return squeeze(mm(a, unsqueeze(b, 1)), 1);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  // Batched: broadcast the batch dimensions, flatten them, multiply batch by batch.
  const std::int64_t m = a.shape()[a.dim() - 2], k = a.shape().back();
  const std::int64_t k2 = b.shape()[b.dim() - 2], n = b.shape().back();
  DESCENT_CHECK(k == k2, "matmul: shapes ", a.shape(), " and ", b.shape(), " cannot be multiplied (", k,
                " != ", k2, ")");
  Shape batch_a(std::span<const std::int64_t>(a.shape().begin(), a.shape().end() - 2));
  Shape batch_b(std::span<const std::int64_t>(b.shape().begin(), b.shape().end() - 2));
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape full_a = batch, full_b = batch;
  full_a.push_back(m);
  full_a.push_back(k);
  full_b.push_back(k);
  full_b.push_back(n);
  const std::int64_t count = batch.numel();
  Tensor a3 = reshape(expand(a, full_a), Shape{count, m, k});
  Tensor b3 = reshape(expand(b, full_b), Shape{count, k, n});
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  return reshape(bmm(a3, b3), out_shape);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  DESCENT_CHECK(x.defined() && weight.defined(), "linear: input or weight is undefined");
  DESCENT_CHECK(weight.dim() == 2, "linear: weight must be 2-D [out, in], got shape ", weight.shape());
  DESCENT_CHECK(x.dim() >= 1 && x.shape().back() == weight.shape()[1], "linear: input of shape ", x.shape(),
                " does not match weight of shape ", weight.shape(), " (expected last dimension ",
                weight.shape()[1], ")");
  DESCENT_CHECK(!bias.defined() || (bias.dim() == 1 && bias.shape()[0] == weight.shape()[0]),
                "linear: bias of shape ", bias.defined() ? bias.shape() : Shape{}, " for weight of shape ",
                weight.shape(), " (expected [", weight.shape()[0], "])");
  check_same_dtype(x, weight, "linear");
  if (x.dim() != 2) {
    Shape out_shape = x.shape();
    out_shape[out_shape.size() - 1] = weight.shape()[0];
    return reshape(linear(reshape(x, Shape{-1, x.shape().back()}), weight, bias), out_shape);
  }
  if (const DType low = autocast_dtype(x); low != DType::Float32) return linear_autocast(x, weight, bias, low);
  return dispatch_floating(x.dtype(), "linear", [&](auto zero) {
    using T = decltype(zero);
    const std::int64_t rows = x.shape()[0], out_features = weight.shape()[0];
    Tensor out = empty(Shape{rows, out_features}, x.dtype());
    T beta = T(0);
    if (bias.defined()) {
      T* o = out.data<T>();
      if (bias.is_contiguous()) {
        const T* bp = bias.data<T>();
        for (std::int64_t r = 0; r < rows; ++r) std::copy(bp, bp + out_features, o + r * out_features);
      } else {
        Tensor b = bias.contiguous_copy();
        const T* bp = b.data<T>();
        for (std::int64_t r = 0; r < rows; ++r) std::copy(bp, bp + out_features, o + r * out_features);
      }
      beta = T(1);
    }
    if (x.is_contiguous() && weight.is_contiguous()) {
      // The common case without building view tensors: out = x W^T (+ bias).
      const std::int64_t in_features = weight.shape()[1];
      blas::gemm(false, true, rows, out_features, in_features, T(1), x.data<T>(), in_features, weight.data<T>(),
                 in_features, beta, out.data<T>(), out_features);
    } else {
      NoGradGuard guard;
      gemm_into<T>(x, transpose(weight, 0, 1), out, beta);
    }
    if (autograd::any_needs_grad({&x, &weight, &bias})) {
      const bool grad_x = x.requires_grad(), grad_w = weight.requires_grad();
      const bool grad_b = bias.defined() && bias.requires_grad();
      record(out, "LinearBackward", {&x, &weight, &bias},
             [xs = SavedTensor(x), ws = SavedTensor(weight), grad_x, grad_w, grad_b](
                 const Tensor& g, std::span<Tensor> grads) {
               const Tensor& xv = xs.unpack("linear");
               const Tensor& wv = ws.unpack("linear");
               if (g.is_contiguous() && xv.is_contiguous() && wv.is_contiguous()) {
                 const std::int64_t n = g.shape()[0], out_f = wv.shape()[0], in_f = wv.shape()[1];
                 if (grad_x) {  // dx = g W
                   Tensor dx = empty(Shape{n, in_f}, g.dtype());
                   blas::gemm(false, false, n, in_f, out_f, T(1), g.data<T>(), out_f, wv.data<T>(), in_f, T(0),
                              dx.data<T>(), in_f);
                   grads[0] = dx;
                 }
                 if (grad_w) {  // dW = g^T x
                   Tensor dw = empty(Shape{out_f, in_f}, g.dtype());
                   blas::gemm(true, false, out_f, in_f, n, T(1), g.data<T>(), out_f, xv.data<T>(), in_f, T(0),
                              dw.data<T>(), in_f);
                   grads[1] = dw;
                 }
               } else {
                 if (grad_x) grads[0] = mm(g, wv);
                 if (grad_w) grads[1] = mm(transpose(g, 0, 1), xv);
               }
               if (grad_b) grads[2] = column_sums<T>(g);
             });
    }
    return out;
  });
}

}  // namespace descent
