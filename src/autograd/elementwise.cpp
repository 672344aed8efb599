// Elementwise operations and their gradients.
#include <cmath>
#include <numbers>

#include "descent/autograd/autocast.hpp"
#include "descent/autograd/ops.hpp"
#include "kernels.hpp"

namespace descent {

using autograd::SavedTensor;
using autograd::needs_grad;
using namespace autograd::kernel;

namespace {

// What a unary operation's backward reads: both x and y, or (activations) only one of them.
enum class Keep { Both, Input, Output };

// y = fwd(x); dx = bwd(g, x, y). fwd and bwd are generic lambdas over the element type. An activation
// (Keep::Input or Keep::Output) saves only the tensor its backward reads (bwd then receives it for both
// x and y), and under autocast saves it in the 16-bit dtype, sharing the copy the next product makes of
// it (autocast.hpp); its backward widens it again. Other operations save x and y in float32.
template <Keep keep = Keep::Both, class Fwd, class Bwd>
Tensor unary(const Tensor& a, const char* op, const char* node, Fwd fwd, Bwd bwd) {
  DESCENT_CHECK(a.defined(), op, ": input tensor is undefined");
  return dispatch_floating(a.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    Tensor out = map1<T>(a, [&](T x) { return fwd(x); });
    if (!needs_grad(a)) return out;
    if constexpr (keep == Keep::Both) {
      record(out, node, {&a},
             [x = SavedTensor(a), y = SavedTensor(out.detach()), bwd, node](
                 const Tensor& g, std::span<Tensor> grads) {
               grads[0] = map3<T>(g, x.unpack(node), y.unpack(node),
                                  [&](T gi, T xi, T yi) { return bwd(gi, xi, yi); });
             });
    } else {
      Tensor kept = keep == Keep::Input ? a : out.detach();
      if (const DType low = autograd::autocast_dtype(a); low != DType::Float32)
        kept = autograd::cast_for_autocast(kept, low);
      record(out, node, {&a}, [v = SavedTensor(kept), bwd, node](const Tensor& g, std::span<Tensor> grads) {
        const Tensor& saved = v.unpack(node);
        const Tensor values = saved.dtype() == dtype_of<T>() ? saved : saved.to(dtype_of<T>());
        grads[0] = map3<T>(g, values, values, [&](T gi, T vi, T) { return bwd(gi, vi, vi); });
      });
    }
    return out;
  });
}

// z = fwd(x, y) with broadcasting; dx = bx(g, x, y, z), dy = by(g, x, y, z), summed back to each shape.
template <class Fwd, class Bx, class By>
Tensor binary(const Tensor& a, const Tensor& b, const char* op, const char* node, Fwd fwd, Bx bx, By by) {
  DESCENT_CHECK(a.defined() && b.defined(), op, ": input tensor is undefined");
  return dispatch_floating(a.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    Tensor out = map2<T>(a, b, op, [&](T x, T y) { return fwd(x, y); });
    if (needs_grad(a, b)) {
      const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
      record(out, node, {&a, &b},
             [x = SavedTensor(a), y = SavedTensor(b), z = SavedTensor(out.detach()), bx, by,
              node, grad_a, grad_b](const Tensor& g, std::span<Tensor> grads) {
               const Tensor& xs = x.unpack(node);
               const Tensor& ys = y.unpack(node);
               const Tensor& zs = z.unpack(node);
               const Shape& shape = zs.shape();
               const Tensor xb = xs.shape() == shape ? xs : expand(xs, shape);
               const Tensor yb = ys.shape() == shape ? ys : expand(ys, shape);
               if (grad_a) {
                 Tensor ga = map4<T>(g, xb, yb, zs, [&](T gi, T xi, T yi, T zi) { return bx(gi, xi, yi, zi); });
                 grads[0] = sum_to(ga, xs.shape());
               }
               if (grad_b) {
                 Tensor gb = map4<T>(g, xb, yb, zs, [&](T gi, T xi, T yi, T zi) { return by(gi, xi, yi, zi); });
                 grads[1] = sum_to(gb, ys.shape());
               }
             });
    }
    return out;
  });
}

template <class T>
T sign(T x) {
  return T((x > T(0)) - (x < T(0)));
}

}  // namespace

Shape autograd::kernel::broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape strides;
  strides.resize(shape.size());
  const int lead = shape.size() - t.dim();
  for (int i = 0; i < shape.size(); ++i) {
    const int j = i - lead;
    strides[i] = (j < 0 || t.shape()[j] == 1) ? 0 : t.strides()[j];
  }
  return strides;
}

// ---- binary
namespace {
// add and sub pass the gradient through (summed over broadcast dimensions) with no elementwise pass.
template <int kSignB>
Tensor add_sub(const Tensor& a, const Tensor& b, const char* op, const char* node) {
  DESCENT_CHECK(a.defined() && b.defined(), op, ": input tensor is undefined");
  return dispatch_floating(a.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    Tensor out = map2<T>(a, b, op, [](T x, T y) { return kSignB > 0 ? x + y : x - y; });
    if (needs_grad(a, b)) {
      const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
      record(out, node, {&a, &b},
             [shape_a = a.shape(), shape_b = b.shape(), grad_a, grad_b](const Tensor& g, std::span<Tensor> grads) {
               if (grad_a) grads[0] = sum_to(g, shape_a);
               if (grad_b) grads[1] = kSignB > 0 ? sum_to(g, shape_b) : neg(sum_to(g, shape_b));
             });
    }
    return out;
  });
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return add_sub<1>(a, b, "add", "AddBackward"); }
Tensor sub(const Tensor& a, const Tensor& b) { return add_sub<-1>(a, b, "sub", "SubBackward"); }

Tensor mul(const Tensor& a, const Tensor& b) {
  return binary(
      a, b, "mul", "MulBackward", [](auto x, auto y) { return x * y; },
      [](auto g, auto, auto y, auto) { return g * y; }, [](auto g, auto x, auto, auto) { return g * x; });
}

Tensor div(const Tensor& a, const Tensor& b) {
  return binary(
      a, b, "div", "DivBackward", [](auto x, auto y) { return x / y; },
      [](auto g, auto, auto y, auto) { return g / y; },
      [](auto g, auto x, auto y, auto) { return -g * x / (y * y); });
}

Tensor pow(const Tensor& a, const Tensor& exponent) {
  return binary(
      a, exponent, "pow", "PowBackward", [](auto x, auto y) { return std::pow(x, y); },
      [](auto g, auto x, auto y, auto) {
        return y == decltype(y)(0) ? decltype(g)(0) : g * y * std::pow(x, y - decltype(y)(1));
      },
      [](auto g, auto x, auto, auto z) {
        using T = decltype(g);
        return (x > T(0)) ? g * z * std::log(x) : T(0);
      });
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  using std::abs;
  return binary(
      a, b, "maximum", "MaximumBackward", [](auto x, auto y) { return x > y ? x : y; },
      [](auto g, auto x, auto y, auto) { return x > y ? g : (x == y ? g / 2 : decltype(g)(0)); },
      [](auto g, auto x, auto y, auto) { return y > x ? g : (x == y ? g / 2 : decltype(g)(0)); });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary(
      a, b, "minimum", "MinimumBackward", [](auto x, auto y) { return x < y ? x : y; },
      [](auto g, auto x, auto y, auto) { return x < y ? g : (x == y ? g / 2 : decltype(g)(0)); },
      [](auto g, auto x, auto y, auto) { return y < x ? g : (x == y ? g / 2 : decltype(g)(0)); });
}

Tensor add(const Tensor& a, double b) {
  return unary(
      a, "add", "AddScalarBackward", [b](auto x) { return x + decltype(x)(b); },
      [](auto g, auto, auto) { return g; });
}

Tensor mul(const Tensor& a, double b) {
  return unary(
      a, "mul", "MulScalarBackward", [b](auto x) { return x * decltype(x)(b); },
      [b](auto g, auto, auto) { return g * decltype(g)(b); });
}

Tensor pow(const Tensor& a, double p) {
  return unary(
      a, "pow", "PowScalarBackward", [p](auto x) { return std::pow(x, decltype(x)(p)); },
      [p](auto g, auto x, auto) {
        using T = decltype(g);
        return p == 0.0 ? T(0) : g * T(p) * std::pow(x, T(p - 1.0));
      });
}

// ---- unary
Tensor neg(const Tensor& a) {
  return unary(
      a, "neg", "NegBackward", [](auto x) { return -x; }, [](auto g, auto, auto) { return -g; });
}

Tensor exp(const Tensor& a) {
  return unary(
      a, "exp", "ExpBackward", [](auto x) { return std::exp(x); }, [](auto g, auto, auto y) { return g * y; });
}

Tensor log(const Tensor& a) {
  return unary(
      a, "log", "LogBackward", [](auto x) { return std::log(x); }, [](auto g, auto x, auto) { return g / x; });
}

Tensor sqrt(const Tensor& a) {
  return unary(
      a, "sqrt", "SqrtBackward", [](auto x) { return std::sqrt(x); },
      [](auto g, auto, auto y) { return g / (y + y); });
}

Tensor abs(const Tensor& a) {
  return unary(
      a, "abs", "AbsBackward", [](auto x) { return std::abs(x); },
      [](auto g, auto x, auto) { return g * sign(x); });
}

Tensor clamp(const Tensor& a, std::optional<double> lo, std::optional<double> hi) {
  DESCENT_CHECK(!(lo && hi) || *lo <= *hi, "clamp: min ", lo.value_or(0), " is greater than max ",
                hi.value_or(0));
  const double min_value = lo.value_or(-INFINITY), max_value = hi.value_or(INFINITY);
  return unary(
      a, "clamp", "ClampBackward",
      [=](auto x) {
        using T = decltype(x);
        return x < T(min_value) ? T(min_value) : (x > T(max_value) ? T(max_value) : x);
      },
      [=](auto g, auto x, auto) {
        using T = decltype(g);
        return (x >= T(min_value) && x <= T(max_value)) ? g : T(0);
      });
}

Tensor relu(const Tensor& a) {
  return unary<Keep::Output>(
      a, "relu", "ReluBackward", [](auto x) { return x > decltype(x)(0) ? x : decltype(x)(0); },
      [](auto g, auto, auto y) { return y > decltype(y)(0) ? g : decltype(g)(0); });
}

Tensor leaky_relu(const Tensor& a, double slope) {
  return unary<Keep::Input>(
      a, "leaky_relu", "LeakyReluBackward",
      [slope](auto x) { return x > decltype(x)(0) ? x : x * decltype(x)(slope); },
      [slope](auto g, auto x, auto) { return x > decltype(x)(0) ? g : g * decltype(g)(slope); });
}

Tensor gelu(const Tensor& a, const std::string& approximate) {
  if (approximate == "tanh") {
    return unary<Keep::Input>(
        a, "gelu", "GeluTanhBackward",
        [](auto x) {
          using T = decltype(x);
          const T k = T(std::sqrt(2.0 / std::numbers::pi));
          return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
        },
        [](auto g, auto x, auto) {
          using T = decltype(g);
          const T k = T(std::sqrt(2.0 / std::numbers::pi));
          const T inner = k * (x + T(0.044715) * x * x * x);
          const T t = std::tanh(inner);
          const T d_inner = k * (T(1) + T(3 * 0.044715) * x * x);
          return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * d_inner);
        });
  }
  DESCENT_CHECK(approximate == "none", "gelu: approximate must be 'none' or 'tanh', got '", approximate, "'");
  return unary<Keep::Input>(
      a, "gelu", "GeluBackward",
      [](auto x) {
        using T = decltype(x);
        return T(0.5) * x * (T(1) + std::erf(x * T(1 / std::numbers::sqrt2)));
      },
      [](auto g, auto x, auto) {
        using T = decltype(g);
        const T cdf = T(0.5) * (T(1) + std::erf(x * T(1 / std::numbers::sqrt2)));
        const T pdf = std::exp(T(-0.5) * x * x) * T(1 / std::sqrt(2 * std::numbers::pi));
        return g * (cdf + x * pdf);
      });
}

Tensor silu(const Tensor& a) {
  return unary<Keep::Input>(
      a, "silu", "SiluBackward",
      [](auto x) {
        using T = decltype(x);
        return x / (T(1) + std::exp(-x));
      },
      [](auto g, auto x, auto) {
        using T = decltype(g);
        const T s = T(1) / (T(1) + std::exp(-x));
        return g * s * (T(1) + x * (T(1) - s));
      });
}

Tensor tanh(const Tensor& a) {
  return unary<Keep::Output>(
      a, "tanh", "TanhBackward", [](auto x) { return std::tanh(x); },
      [](auto g, auto, auto y) { return g * (decltype(y)(1) - y * y); });
}

Tensor sigmoid(const Tensor& a) {
  return unary<Keep::Output>(
      a, "sigmoid", "SigmoidBackward",
      [](auto x) {
        using T = decltype(x);
        return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
      },
      [](auto g, auto, auto y) { return g * y * (decltype(y)(1) - y); });
}

// ---- in place
Tensor& add_(Tensor& a, const Tensor& b, double alpha) {
  DESCENT_CHECK(!(GradMode::enabled() && a.requires_grad() && a.is_leaf()),
                "add_: in-place write to a leaf tensor that requires grad (shape ", a.shape(), ")");
  DESCENT_CHECK(a.dtype() == b.dtype(), "add_: dtypes differ (", dtype_name(a.dtype()), " and ",
                dtype_name(b.dtype()), ")");
  dispatch_floating(a.dtype(), "add_", [&](auto zero) {
    using T = decltype(zero);
    const T scale = T(alpha);
    if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
      T* x = a.data<T>();
      const T* y = b.data<T>();
      parallel_for(0, a.numel(), kParallelGrain, [&](std::int64_t lo, std::int64_t hi) {
        if (scale == T(1)) {
          for (std::int64_t i = lo; i < hi; ++i) x[i] += y[i];
        } else {
          for (std::int64_t i = lo; i < hi; ++i) x[i] += scale * y[i];
        }
      });
    } else {
      const Shape target = broadcast_shapes(b.shape(), a.shape(), "add_");
      DESCENT_CHECK(target == a.shape(), "add_: cannot add a tensor of shape ", b.shape(),
                    " into one of shape ", a.shape());
      T* x = mutable_storage_base<T>(a);
      const T* y = storage_base<T>(b);
      for_each_offset2(a.shape(), a.strides(), a.offset(), broadcast_strides(b, a.shape()), b.offset(),
                       [&](std::int64_t i, std::int64_t j) { x[i] += scale * y[j]; });
    }
  });
  a.mark_modified();
  return a;
}

Tensor& mul_(Tensor& a, double factor) {
  DESCENT_CHECK(!(GradMode::enabled() && a.requires_grad() && a.is_leaf()),
                "mul_: in-place write to a leaf tensor that requires grad (shape ", a.shape(), ")");
  dispatch_floating(a.dtype(), "mul_", [&](auto zero) {
    using T = decltype(zero);
    T* x = mutable_storage_base<T>(a);
    for_each_offset(a.shape(), a.strides(), a.offset(), [&](std::int64_t i) { x[i] *= T(factor); });
  });
  a.mark_modified();
  return a;
}

}  // namespace descent
