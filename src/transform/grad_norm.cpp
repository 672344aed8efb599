#include "descent/transform/grad_norm.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "descent/core/parallel.hpp"
#include "descent/core/simd.hpp"
#include "descent/core/strided.hpp"

namespace descent::transform {

namespace {

// Elements per block: the unit of parallel work and of the deterministic combination order.
constexpr std::int64_t kBlock = std::int64_t(1) << 14;
// Blocks per parallel task at least: below 2 * kGrainBlocks blocks the pass runs on the calling thread.
constexpr std::int64_t kGrainBlocks = 4;
// Independent accumulators per block, so that a strict-IEEE sum still vectorises.
constexpr int kLanes = 8;

enum class NormKind { L1, L2, Max, P };

NormKind kind_of(double norm_type) {
  if (norm_type == 1.0) return NormKind::L1;
  if (norm_type == 2.0) return NormKind::L2;
  if (std::isinf(norm_type)) return NormKind::Max;
  return NormKind::P;
}

template <NormKind kind>
inline double contribution(double u, double p) {
  if constexpr (kind == NormKind::L1) return std::fabs(u);
  if constexpr (kind == NormKind::L2) return u * u;
  return std::pow(std::fabs(u), p);
}

// Sum of the contributions of x[i] * m, accumulated in double. Sets `suspicious` when the sum is not
// finite; the caller then rescans the range exactly.
template <class T, NormKind kind>
[[gnu::always_inline]] inline double sum_body(const T* DESCENT_RESTRICT x, std::int64_t n, T m, double p,
                                              bool& suspicious) {
  double acc[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += contribution<kind>(double(T(x[i + j] * m)), p);
  for (; i < n; ++i) acc[0] += contribution<kind>(double(T(x[i] * m)), p);
  double result = acc[0];
  for (int j = 1; j < kLanes; ++j) result += acc[j];
  suspicious = !std::isfinite(result);
  return result;
}

// Max of |x[i] * m|, exact in T (no promotion needed). A max alone would drop a NaN, so a probe that
// turns NaN on any Inf/NaN element (u - u) runs alongside and sets `suspicious`. Written with vector
// types: GCC does not vectorise the strict-IEEE max/probe pair from a scalar loop (measured: scalar
// code, about 4x slower than the L2 pass).
template <class T>
[[gnu::always_inline]] inline double max_body(const T* DESCENT_RESTRICT x, std::int64_t n, T m, double,
                                              bool& suspicious) {
  typedef T Vec __attribute__((vector_size(16)));  // native in every clone, baseline SSE2 included
  constexpr int lanes = int(sizeof(Vec) / sizeof(T));
  constexpr int chains = 4;  // independent accumulators: the max/add latency would otherwise bound the loop
  Vec acc[chains] = {}, probe[chains] = {};
  const Vec multiplier = Vec{} + m;
  std::int64_t i = 0;
  for (; i + chains * lanes <= n; i += chains * lanes) {
    for (int c = 0; c < chains; ++c) {
      Vec u;
      __builtin_memcpy(&u, x + i + c * lanes, sizeof u);
      u *= multiplier;
      const Vec a = u < T(0) ? -u : u;
      acc[c] = a > acc[c] ? a : acc[c];
      probe[c] += u - u;
    }
  }
  T result = 0, probe_sum = 0;
  for (int c = 0; c < chains; ++c) {
    for (int j = 0; j < lanes; ++j) {
      result = acc[c][j] > result ? acc[c][j] : result;
      probe_sum += probe[c][j];
    }
  }
  for (; i < n; ++i) {
    const T u = x[i] * m;
    const T a = u < T(0) ? -u : u;
    result = a > result ? a : result;
    probe_sum += u - u;
  }
  suspicious = !std::isfinite(result) || !std::isfinite(probe_sum);
  return double(result);
}

template <class T, NormKind kind>
[[gnu::always_inline]] inline double reduce_body(const T* x, std::int64_t n, T m, double p, bool& suspicious) {
  if constexpr (kind == NormKind::Max) return max_body<T>(x, n, m, p, suspicious);
  else return sum_body<T, kind>(x, n, m, p, suspicious);
}

#define DESCENT_REDUCE_KERNEL(name, T, kind)                                                  \
  DESCENT_MULTIVERSION double name(const T* x, std::int64_t n, T m, double p, bool& suspicious) { \
    return reduce_body<T, kind>(x, n, m, p, suspicious);                                      \
  }
DESCENT_REDUCE_KERNEL(reduce_l1_f32, float, NormKind::L1)
DESCENT_REDUCE_KERNEL(reduce_l2_f32, float, NormKind::L2)
DESCENT_REDUCE_KERNEL(reduce_max_f32, float, NormKind::Max)
DESCENT_REDUCE_KERNEL(reduce_l1_f64, double, NormKind::L1)
DESCENT_REDUCE_KERNEL(reduce_l2_f64, double, NormKind::L2)
DESCENT_REDUCE_KERNEL(reduce_max_f64, double, NormKind::Max)
#undef DESCENT_REDUCE_KERNEL

template <class T>
double reduce_run(NormKind kind, const T* x, std::int64_t n, T m, double p, bool& suspicious) {
  constexpr bool is_float = std::is_same_v<T, float>;
  switch (kind) {
    case NormKind::L1:
      if constexpr (is_float) return reduce_l1_f32(x, n, m, p, suspicious); else return reduce_l1_f64(x, n, m, p, suspicious);
    case NormKind::L2:
      if constexpr (is_float) return reduce_l2_f32(x, n, m, p, suspicious); else return reduce_l2_f64(x, n, m, p, suspicious);
    case NormKind::Max:
      if constexpr (is_float) return reduce_max_f32(x, n, m, p, suspicious); else return reduce_max_f64(x, n, m, p, suspicious);
    case NormKind::P:
      break;
  }
  return reduce_body<T, NormKind::P>(x, n, m, p, suspicious);  // pow dominates: no vector clone gains
}

DESCENT_MULTIVERSION void scale_f32(float* DESCENT_RESTRICT x, std::int64_t n, float factor) {
  for (std::int64_t i = 0; i < n; ++i) x[i] *= factor;
}
DESCENT_MULTIVERSION void scale_f64(double* DESCENT_RESTRICT x, std::int64_t n, double factor) {
  for (std::int64_t i = 0; i < n; ++i) x[i] *= factor;
}

// NaN passes through, as torch.clamp does.
template <class T>
[[gnu::always_inline]] inline T clamp_value(T v, T limit) {
  // torch.clamp(v, -limit, limit) = min(max(v, -limit), limit), NaN kept: a negative limit gives `limit`.
  const T raised = v < -limit ? -limit : v;
  return raised > limit ? limit : raised;
}
DESCENT_MULTIVERSION void scale_clamp_f32(float* DESCENT_RESTRICT x, std::int64_t n, float m, float limit) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = clamp_value(float(x[i] * m), limit);
}
DESCENT_MULTIVERSION void scale_clamp_f64(double* DESCENT_RESTRICT x, std::int64_t n, double m, double limit) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = clamp_value(double(x[i] * m), limit);
}

// Calls piece(run, first_element_in_run, count) for the parts of the runs inside global elements
// [begin, end) of the concatenated runs. `run_start[r]` is the global index of run r's first element.
template <class Piece>
void for_each_piece(const GradientLayout& layout, const std::vector<std::int64_t>& run_start,
                    std::int64_t begin, std::int64_t end, Piece&& piece) {
  std::size_t r = std::upper_bound(run_start.begin(), run_start.end(), begin) - run_start.begin() - 1;
  for (; r < layout.runs.size() && run_start[r] < end; ++r) {
    const std::int64_t lo = std::max(begin, run_start[r]);
    const std::int64_t hi = std::min(end, run_start[r] + layout.runs[r].numel);
    if (lo < hi) piece(layout.runs[r], lo - run_start[r], hi - lo);
  }
}

// Runs block(b, begin, end) for every block of the concatenated runs, in parallel.
template <class Block>
void for_each_block(const GradientLayout& layout, std::vector<std::int64_t>& run_start, Block&& block) {
  run_start.resize(layout.runs.size());
  std::int64_t total = 0;
  for (std::size_t r = 0; r < layout.runs.size(); ++r) {
    run_start[r] = total;
    total += layout.runs[r].numel;
  }
  const std::int64_t blocks = (total + kBlock - 1) / kBlock;
  parallel_for(0, blocks, kGrainBlocks, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t b = first; b < last; ++b) block(b, b * kBlock, std::min(total, (b + 1) * kBlock));
  });
}

struct Partial {
  double value = 0.0;
  bool has_nan = false;
  bool has_inf = false;
};

// Exact NaN/Inf census of x * m, for the rare block the fast reduction flagged.
template <class T>
void census(const T* x, std::int64_t n, T m, Partial& partial) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T u = T(x[i] * m);
    partial.has_nan |= std::isnan(u);
    partial.has_inf |= std::isinf(u);
  }
}

// The reduction of one element into a partial: the plain scalar rule shared by the strided path and
// the reference loop.
template <class T>
void accumulate_element(NormKind kind, double p, T g, T m, Partial& partial) {
  const T u = T(g * m);
  partial.has_nan |= std::isnan(u);
  partial.has_inf |= std::isinf(u);
  const double a = std::fabs(double(u));
  switch (kind) {
    case NormKind::L1: partial.value += a; break;
    case NormKind::L2: partial.value += a * a; break;
    case NormKind::Max: partial.value = std::max(partial.value, a); break;
    case NormKind::P: partial.value += std::pow(a, p); break;
  }
}

void accumulate_tensor(NormKind kind, double p, const Tensor& grad, double multiplier, Partial& partial) {
  dispatch_floating(grad.dtype(), "global_grad_norm", [&](auto zero) {
    using T = decltype(zero);
    const T* base = static_cast<const T*>(grad.storage()->data());
    const T m = T(multiplier);
    for_each_offset(grad.shape(), grad.strides(), grad.offset(),
                    [&](std::int64_t at) { accumulate_element(kind, p, base[at], m, partial); });
  });
}

void combine(NormKind kind, Partial& into, const Partial& from) {
  into.value = kind == NormKind::Max ? std::max(into.value, from.value) : into.value + from.value;
  into.has_nan |= from.has_nan;
  into.has_inf |= from.has_inf;
}

GradNormResult finish(NormKind kind, double p, const Partial& total) {
  GradNormResult result;
  result.found_nonfinite = total.has_nan || total.has_inf;
  if (total.has_nan) {
    result.norm = std::numeric_limits<double>::quiet_NaN();
  } else if (total.has_inf) {
    result.norm = kInfNorm;
  } else {
    switch (kind) {
      case NormKind::L1: case NormKind::Max: result.norm = total.value; break;
      case NormKind::L2: result.norm = std::sqrt(total.value); break;
      case NormKind::P: result.norm = std::pow(total.value, 1.0 / p); break;
    }
  }
  return result;
}

// The norm of order p of a list of values as torch.linalg.vector_norm takes it, for the orders the fast
// kinds do not cover: 0 (the number of non-zero values, NaN counting), -inf (the smallest |x|) and a
// negative p ((sum |x|^p)^(1/p), where a zero makes the sum infinite and the norm 0). NaN propagates.
class UnusualNorm {
 public:
  explicit UnusualNorm(double p) : p_(p) {}
  void add(double x) {
    const double a = std::fabs(x);
    if (std::isnan(x)) nan_ = true;
    else if (p_ == 0.0) value_ += x != 0.0;
    else if (p_ == -kInfNorm) value_ = count_ == 0 ? a : std::min(value_, a);
    else value_ += std::pow(a, p_);
    ++count_;
  }
  double result() const {
    if (nan_) return std::numeric_limits<double>::quiet_NaN();
    if (p_ == 0.0) return value_;
    if (p_ == -kInfNorm) return count_ == 0 ? kInfNorm : value_;  // torch: the min over no element is +inf
    return std::pow(value_, 1.0 / p_);
  }

 private:
  double p_, value_ = 0.0;
  std::int64_t count_ = 0;
  bool nan_ = false;
};

// PyTorch's _get_total_norm for those orders: each tensor's norm, then the norm of the tensors' norms (for
// 0 this counts the tensors holding a non-zero element; for -inf and negative p it equals the norm of all
// elements taken together).
GradNormResult unusual_grad_norm(const std::vector<Tensor>& grads, double p, double multiplier) {
  GradNormResult result;
  UnusualNorm total(p);
  for (const Tensor& grad : grads) {
    UnusualNorm norm(p);
    dispatch_floating(grad.dtype(), "global_grad_norm", [&](auto zero) {
      using T = decltype(zero);
      const T* base = static_cast<const T*>(grad.storage()->data());
      for_each_offset(grad.shape(), grad.strides(), grad.offset(), [&](std::int64_t at) {
        const T u = T(base[at] * T(multiplier));
        result.found_nonfinite |= !std::isfinite(u);
        norm.add(double(u));
      });
    });
    total.add(norm.result());
  }
  result.norm = grads.empty() ? 0.0 : total.result();
  return result;
}

bool is_unusual(double norm_type) { return norm_type <= 0.0; }

std::vector<Tensor> defined_grads(const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (const Tensor& param : params)
    if (param.grad().defined()) grads.push_back(param.grad());
  return grads;
}

}  // namespace

void check_norm_type(double norm_type, const char* where) {
  DESCENT_CHECK(!std::isnan(norm_type), where, ": norm_type = ", norm_type,
                "; expected a number: p (1, 2, ...), inf, 0, a negative p or -inf, as torch.linalg.vector_norm");
}

GradNormResult global_grad_norm(const GradientLayout& layout, double norm_type, double grad_multiplier) {
  check_norm_type(norm_type, "global_grad_norm");
  DESCENT_CHECK(!is_unusual(norm_type), "global_grad_norm: norm_type = ", norm_type,
                " takes per-tensor norms; expected the gradients as a list of parameters for it");
  const NormKind kind = kind_of(norm_type);
  // Scratch reused across calls. Worker threads must see the caller's vectors, not their own
  // thread_local instances, hence the plain references the lambdas capture.
  thread_local std::vector<std::int64_t> run_start_scratch;
  thread_local std::vector<Partial> partials_scratch;
  std::vector<std::int64_t>& run_start = run_start_scratch;
  std::vector<Partial>& partials = partials_scratch;
  partials.assign(std::size_t((layout.run_numel + kBlock - 1) / kBlock), Partial{});
  for_each_block(layout, run_start, [&](std::int64_t b, std::int64_t begin, std::int64_t end) {
    Partial& partial = partials[std::size_t(b)];
    for_each_piece(layout, run_start, begin, end, [&](const GradientRun& run, std::int64_t at, std::int64_t n) {
      dispatch_floating(run.dtype, "global_grad_norm", [&](auto zero) {
        using T = decltype(zero);
        const T* x = static_cast<const T*>(run.data) + at;
        bool suspicious = false;
        const double value = reduce_run<T>(kind, x, n, T(grad_multiplier), norm_type, suspicious);
        combine(kind, partial, Partial{value, false, false});
        if (suspicious) census<T>(x, n, T(grad_multiplier), partial);
      });
    });
  });
  Partial total;
  for (const Partial& partial : partials) combine(kind, total, partial);
  for (const Tensor& grad : layout.strided) accumulate_tensor(kind, norm_type, grad, grad_multiplier, total);
  return finish(kind, norm_type, total);
}

GradNormResult global_grad_norm(const std::vector<Tensor>& params, double norm_type, double grad_multiplier) {
  check_norm_type(norm_type, "global_grad_norm");
  if (is_unusual(norm_type)) return unusual_grad_norm(defined_grads(params), norm_type, grad_multiplier);
  return global_grad_norm(collect_gradients(params, "global_grad_norm"), norm_type, grad_multiplier);
}

GradNormResult global_grad_norm_reference(const std::vector<Tensor>& params, double norm_type,
                                          double grad_multiplier) {
  check_norm_type(norm_type, "global_grad_norm_reference");
  if (is_unusual(norm_type)) return unusual_grad_norm(defined_grads(params), norm_type, grad_multiplier);
  const NormKind kind = kind_of(norm_type);
  Partial total;
  for (const Tensor& param : params) {
    const Tensor grad = param.grad();
    if (grad.defined()) accumulate_tensor(kind, norm_type, grad, grad_multiplier, total);
  }
  return finish(kind, norm_type, total);
}

void scale_grads_(const GradientLayout& layout, double factor) {
  thread_local std::vector<std::int64_t> run_start_scratch;
  std::vector<std::int64_t>& run_start = run_start_scratch;  // see global_grad_norm
  for_each_block(layout, run_start, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
    for_each_piece(layout, run_start, begin, end, [&](const GradientRun& run, std::int64_t at, std::int64_t n) {
      if (run.dtype == DType::Float32) scale_f32(static_cast<float*>(run.data) + at, n, float(factor));
      else scale_f64(static_cast<double*>(run.data) + at, n, factor);
    });
  });
  for (const Tensor& grad : layout.strided) {
    dispatch_floating(grad.dtype(), "scale_grads_", [&](auto zero) {
      using T = decltype(zero);
      T* base = static_cast<T*>(grad.storage()->data());
      for_each_offset(grad.shape(), grad.strides(), grad.offset(), [&](std::int64_t at) { base[at] *= T(factor); });
    });
  }
}

void scale_grads_(const std::vector<Tensor>& params, double factor) {
  scale_grads_(collect_gradients(params, "scale_grads_"), factor);
  for (const Tensor& param : params)
    if (param.grad().defined()) param.grad().mark_modified();
}

void scale_and_clamp_grads_(const GradientLayout& layout, double grad_multiplier, double limit) {
  thread_local std::vector<std::int64_t> run_start_scratch;
  std::vector<std::int64_t>& run_start = run_start_scratch;  // see global_grad_norm
  for_each_block(layout, run_start, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
    for_each_piece(layout, run_start, begin, end, [&](const GradientRun& run, std::int64_t at, std::int64_t n) {
      if (run.dtype == DType::Float32) {
        scale_clamp_f32(static_cast<float*>(run.data) + at, n, float(grad_multiplier), float(limit));
      } else {
        scale_clamp_f64(static_cast<double*>(run.data) + at, n, grad_multiplier, limit);
      }
    });
  });
  for (const Tensor& grad : layout.strided) {
    dispatch_floating(grad.dtype(), "scale_and_clamp_grads_", [&](auto zero) {
      using T = decltype(zero);
      T* base = static_cast<T*>(grad.storage()->data());
      for_each_offset(grad.shape(), grad.strides(), grad.offset(),
                      [&](std::int64_t at) { base[at] = clamp_value(T(base[at] * T(grad_multiplier)), T(limit)); });
    });
  }
}

}  // namespace descent::transform
