#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/adafactor.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "descent/optim/kernel.hpp"
#include "descent/optim/tensor_pass.hpp"
#include "descent/optim/validate.hpp"
#include "state_io.hpp"

namespace descent::optim {

Adafactor::Adafactor(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-2},
                 {"beta2_decay", -0.8},
                 {"eps", {nullptr, 1e-3}},
                 {"d", 1.0},
                 {"weight_decay", 0.0},
                 {"foreach", false},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Adafactor::validate(const nlohmann::json& o) const {
  const double lr = o["lr"], decay = o["beta2_decay"], d = o["d"], wd = o["weight_decay"];
  const double eps1 = o["eps"][0].is_null() ? 0.0 : o["eps"][0].get<double>(), eps2 = o["eps"][1];
  check_option(name(), "lr", lr, lr >= 0 && std::isfinite(lr), "a finite lr >= 0");
  check_option(name(), "beta2_decay", decay, decay <= 0, "beta2_decay <= 0");
  check_option(name(), "eps[0]", eps1, eps1 >= 0, "eps[0] >= 0 (or null: the parameter dtype's epsilon)");
  check_option(name(), "eps[1]", eps2, eps2 >= 0, "eps[1] >= 0");
  check_option(name(), "d", d, d >= 1, "d >= 1");
  check_option(name(), "weight_decay", wd, wd >= 0, "weight_decay >= 0");
}

namespace {

// The unfactored update's per-element rule (1-D parameters), shared by the fused pass and the update pass.
template <class T>
struct VarianceStep {
  T multiplier, weight, floor, decay, scale;
};
template <class V, class T>
DESCENT_RULE V variance_update(const VarianceStep<T>& s, V grad, V variance) {
  const V g = grad * s.multiplier;
  return g / root(maximum(variance, splat<V>(s.floor)));
}

// p <- p * decay + scale * u, with u recomputed from the stored variance (the second pass), through lanes L
// (32- or 64-byte vectors), then a scalar tail.
template <class L, class T>
DESCENT_RULE void apply_unfactored_lanes(const VarianceStep<T>& s, T* p, const T* grad, const T* variance,
                                         std::int64_t n) {
  std::int64_t i = 0;
  for (; i + L::width <= n; i += L::width) {
    const typename L::V u = variance_update(s, L::load(grad + i), L::load(variance + i));
    L::store(p + i, L::load(p + i) * s.decay + s.scale * u);
  }
  for (; i < n; ++i) p[i] = p[i] * s.decay + s.scale * variance_update(s, grad[i], variance[i]);
}
template <class T>
DESCENT_OPTIM_MULTIVERSION void apply_unfactored(const VarianceStep<T> s, T* p, const T* grad, const T* variance,
                                                 std::int64_t n) {
  apply_unfactored_lanes<WideLanes<T>>(s, p, grad, variance, n);
}
#if DESCENT_OPTIM_AVX512
template <class T>
DESCENT_OPTIM_AVX512_TARGET void apply_unfactored_avx512(const VarianceStep<T> s, T* p, const T* grad,
                                                         const T* variance, std::int64_t n) {
  apply_unfactored_lanes<Wide64Lanes<T>>(s, p, grad, variance, n);
}
#endif

// ---- The factored update (parameters of two or more dimensions), in three passes over blocks of rows:
//   1. row means of g^2 into row_var (lerp), each block's column sums of g^2, each block's sum of p^2;
//   2. (after col_var and mean(row_var) are taken from those) each block's sum of u^2;
//   3. p <- p * (1 - lr * wd) + scale * u, recomputing u.
// Each R x C matrix (one per index of the leading dimensions) is cut into blocks of block_rows whole rows,
// fixed by the shape alone. All sums are taken in double in one order, which both paths follow, so that the
// fast path equals the reference loop bitwise for every thread count:
//   * a row's sum over its columns (of g^2, p^2 or u^2): W = WideLanes<T>::width lanes, lane k summing the
//     columns c < C - C % W with c % W == k in column order, the lanes then added in order to 0, then the
//     remaining columns in order;
//   * a column's sum of g^2: the rows of a block in order (from 0), then the blocks' sums in order;
//   * ||p||^2 and ||u||^2: the row sums of a block in order, then the blocks in order (matrix by matrix);
//   * mean(row_var) of one matrix: its rows in order.

// Blocks hold about kBlockElements elements, and at least kMinBlockRows rows, so that the blocks' column
// sums (C doubles per block) stay a small fraction of the matrix. A matrix of at most kMinBlockRows rows
// is therefore one block: a wide, short matrix (1 x N) is one thread's work.
constexpr std::int64_t kBlockElements = 1 << 15, kMinBlockRows = 64;

struct FactoredShape {
  std::int64_t batch = 0, rows = 0, cols = 0, block_rows = 0, blocks = 0;  // blocks per matrix
  std::int64_t items() const { return batch * blocks; }
};

FactoredShape factored_shape(const Tensor& param) {
  FactoredShape f;
  f.cols = param.size(-1);
  f.rows = param.size(-2);
  f.batch = f.rows * f.cols == 0 ? 0 : param.numel() / (f.rows * f.cols);
  f.block_rows = std::min(f.rows, std::max(kMinBlockRows, kBlockElements / std::max<std::int64_t>(f.cols, 1)));
  f.blocks = f.block_rows == 0 ? 0 : (f.rows + f.block_rows - 1) / f.block_rows;
  return f;
}

// One block of rows: where its data lies.
template <class T>
struct RowBlock {
  T* param;
  const T* grad;
  T* row_var;        // the block's first row
  T* col_var;        // the matrix's columns
  double* col_sums;  // the block's column sums, C of them
  T row_mean;        // max(mean(row_var), eps[0]) of the matrix (passes 2 and 3; 0 in pass 1)
  std::int64_t rows, cols;
};

template <class T>
RowBlock<T> row_block(const FactoredShape& f, std::int64_t item, T* p, const T* g, T* row_var, T* col_var,
                      double* col_sums, const double* row_means) {
  const std::int64_t matrix = item / f.blocks, first = (item % f.blocks) * f.block_rows;
  const std::int64_t offset = (matrix * f.rows + first) * f.cols;
  return {p + offset,
          g + offset,
          row_var + matrix * f.rows + first,
          col_var + matrix * f.cols,
          col_sums + item * f.cols,
          row_means == nullptr ? T(0) : T(row_means[matrix]),
          std::min(f.block_rows, f.rows - first),
          f.cols};
}

// max(x, floor) as torch.clamp(min=floor) (NaN stays NaN); 64-byte vectors compare by 32-byte halves
// (kernel.hpp).
template <class V, class T>
DESCENT_RULE V at_least(V x, T floor) {
  return maximum(x, splat<V>(floor));
}

// u for one element, or for a vector of one row's columns: g / sqrt(max(R C / mean(R), eps[0]^2)).
template <class V, class T>
DESCENT_RULE V factored_update(const VarianceStep<T>& s, V grad, T row_var, V col_var, T row_mean) {
  const V g = grad * s.multiplier;
  return g / root(at_least(row_var * col_var / row_mean, s.floor));
}
// p * (1 - lr * wd) + scale * u, rounded after each operation as PyTorch's mul_ then add_.
template <class V, class T>
DESCENT_RULE V decayed_step(const VarianceStep<T>& s, V param, V update) {
  return param * s.decay + s.scale * update;
}
// A running mean of a sum of `count` squares: lerp(state, sum / count, beta_t).
template <class T>
DESCENT_RULE T mean_update(const VarianceStep<T>& s, T state, double sum, std::int64_t count) {
  return lerp(state, T(sum / double(count)), s.weight);
}

// Squares in double: one element, or the lanes of a 32-byte vector as parts of WideLanes<double>::V.
DESCENT_RULE double square(float x) { return double(x) * double(x); }
DESCENT_RULE double square(double x) { return x * x; }
using DoubleV = WideLanes<double>::V;
template <class T>
using DoubleLanes = std::array<DoubleV, WideLanes<T>::width / WideLanes<double>::width>;
static_assert(WideLanes<float>::width == 8 && WideLanes<double>::width == 4, "squares() splits 8 floats in two");

template <class T>
DESCENT_RULE DoubleLanes<T> squares(typename WideLanes<T>::V x) {
  if constexpr (std::is_same_v<T, double>) {
    return {x * x};
  } else {  // lane by lane: GCC makes one 256-bit vcvtps2pd per half of this (of a converted half, two 128-bit)
    const DoubleV low{double(x[0]), double(x[1]), double(x[2]), double(x[3])};
    const DoubleV high{double(x[4]), double(x[5]), double(x[6]), double(x[7])};
    return {low * low, high * high};
  }
}

// The W running sums of squares of one row (lane k sums the columns c % W == k), as 32-byte vectors of
// doubles. add() takes 32-byte vectors, and 64-byte ones as their lower, then their upper half, so that
// the 64-byte loops add in the order of the 32-byte ones. With `cols`, the squares are also added to
// those column sums.
template <class T>
struct RowSums {
  DoubleLanes<T> lanes{};
  DESCENT_RULE void add(typename WideLanes<T>::V x, double* cols = nullptr) {
    const DoubleLanes<T> sq = squares<T>(x);
    for (std::size_t h = 0; h < sq.size(); ++h) {
      lanes[h] += sq[h];
      if (cols != nullptr) {
        double* col = cols + std::int64_t(h) * WideLanes<double>::width;
        WideLanes<double>::store(col, WideLanes<double>::load(col) + sq[h]);
      }
    }
  }
#if DESCENT_OPTIM_AVX512
  DESCENT_RULE void add(Vec64<T> x, double* cols = nullptr) {
    add(low_half(x), cols);
    add(high_half(x), cols == nullptr ? nullptr : cols + WideLanes<T>::width);
  }
#endif
  DESCENT_RULE double total() const {
    double sum = 0;
    for (const DoubleV& part : lanes)
      for (std::int64_t k = 0; k < WideLanes<double>::width; ++k) sum += part[k];
    return sum;
  }
};

#if DESCENT_OPTIM_AVX512
// The same sums for float rows in the 64-byte loops: the eight lanes in one 64-byte vector of doubles, so
// that a square takes one vcvtps2pd; same lanes, same order, same results as RowSums<float>.
struct RowSums64 {
  Vec64<double> lanes{};
  DESCENT_RULE void add(Vec<float> x, double* cols = nullptr) {
    const Vec64<double> wide = __builtin_convertvector(x, Vec64<double>);
    const Vec64<double> sq = wide * wide;
    lanes += sq;
    if (cols != nullptr) {
      Vec64<double> col;
      __builtin_memcpy(&col, cols, sizeof col);
      col += sq;
      __builtin_memcpy(cols, &col, sizeof col);
    }
  }
  DESCENT_RULE void add(Vec64<float> x, double* cols = nullptr) {
    add(low_half(x), cols);
    add(high_half(x), cols == nullptr ? nullptr : cols + 8);
  }
  DESCENT_RULE double total() const {
    double sum = 0;
    for (int k = 0; k < 8; ++k) sum += lanes[k];
    return sum;
  }
};
#endif

// The row sums a pass with vectors of Wide uses.
template <class Wide, class T>
struct SumsFor {
  using type = RowSums<T>;
};
#if DESCENT_OPTIM_AVX512
template <>
struct SumsFor<Wide64Lanes<float>, float> {
  using type = RowSums64;
};
#endif

// The fast path's passes over one block. Wide is WideLanes<T> or, on AVX-512 processors, Wide64Lanes<T>:
// a row's body runs in Wide vectors while a whole one fits, then in 32-byte ones, then the tail in scalars.
// Pass 1: row_var (lerp of the row means of g^2), the block's column sums of g^2; returns its sum of p^2.
template <class Wide, class T>
DESCENT_RULE double statistics_rows(const VarianceStep<T>& s, const RowBlock<T>& b) {
  using L = WideLanes<T>;
  using Sums = typename SumsFor<Wide, T>::type;
  const std::int64_t body = b.cols - b.cols % L::width;
  std::fill(b.col_sums, b.col_sums + b.cols, 0.0);
  double param_sq = 0;
  for (std::int64_t r = 0; r < b.rows; ++r) {
    const T* g = b.grad + r * b.cols;
    const T* x = b.param + r * b.cols;
    Sums grad_sums, param_sums;
    std::int64_t c = 0;
    for (; c + Wide::width <= body; c += Wide::width) {
      grad_sums.add(Wide::load(g + c) * s.multiplier, b.col_sums + c);
      param_sums.add(Wide::load(x + c));
    }
    for (; c < body; c += L::width) {
      grad_sums.add(L::load(g + c) * s.multiplier, b.col_sums + c);
      param_sums.add(L::load(x + c));
    }
    double row_sum = grad_sums.total(), row_param = param_sums.total();
    for (; c < b.cols; ++c) {
      const double g2 = square(T(g[c] * s.multiplier));
      row_sum += g2;
      b.col_sums[c] += g2;
      row_param += square(x[c]);
    }
    b.row_var[r] = mean_update(s, b.row_var[r], row_sum, b.cols);
    param_sq += row_param;
  }
  return param_sq;
}

// Pass 2: returns the block's sum of u^2.
template <class Wide, class T>
DESCENT_RULE double update_sq_rows(const VarianceStep<T>& s, const RowBlock<T>& b) {
  using L = WideLanes<T>;
  const std::int64_t body = b.cols - b.cols % L::width;
  double update_sq = 0;
  for (std::int64_t r = 0; r < b.rows; ++r) {
    const T* g = b.grad + r * b.cols;
    const T row_var = b.row_var[r];
    typename SumsFor<Wide, T>::type sums;
    std::int64_t c = 0;
    for (; c + Wide::width <= body; c += Wide::width)
      sums.add(factored_update(s, Wide::load(g + c), row_var, Wide::load(b.col_var + c), b.row_mean));
    for (; c < body; c += L::width)
      sums.add(factored_update(s, L::load(g + c), row_var, L::load(b.col_var + c), b.row_mean));
    double row_sum = sums.total();
    for (; c < b.cols; ++c) row_sum += square(factored_update(s, g[c], row_var, b.col_var[c], b.row_mean));
    update_sq += row_sum;
  }
  return update_sq;
}

// Pass 3: p <- p * (1 - lr * wd) + scale * u.
template <class Wide, class T>
DESCENT_RULE void apply_rows(const VarianceStep<T>& s, const RowBlock<T>& b) {
  using L = WideLanes<T>;
  for (std::int64_t r = 0; r < b.rows; ++r) {
    T* x = b.param + r * b.cols;
    const T* g = b.grad + r * b.cols;
    const T row_var = b.row_var[r];
    std::int64_t c = 0;
    for (; c + Wide::width <= b.cols; c += Wide::width) {
      const auto u = factored_update(s, Wide::load(g + c), row_var, Wide::load(b.col_var + c), b.row_mean);
      Wide::store(x + c, decayed_step(s, Wide::load(x + c), u));
    }
    for (; c + L::width <= b.cols; c += L::width) {
      const auto u = factored_update(s, L::load(g + c), row_var, L::load(b.col_var + c), b.row_mean);
      L::store(x + c, decayed_step(s, L::load(x + c), u));
    }
    for (; c < b.cols; ++c) x[c] = decayed_step(s, x[c], factored_update(s, g[c], row_var, b.col_var[c], b.row_mean));
  }
}

// The passes compiled for each instruction set: 32-byte vectors (baseline and AVX2 clones), 64-byte ones.
template <class T>
DESCENT_OPTIM_MULTIVERSION double block_statistics(const VarianceStep<T> s, const RowBlock<T> b) {
  return statistics_rows<WideLanes<T>>(s, b);
}
template <class T>
DESCENT_OPTIM_MULTIVERSION double block_update_sq(const VarianceStep<T> s, const RowBlock<T> b) {
  return update_sq_rows<WideLanes<T>>(s, b);
}
template <class T>
DESCENT_OPTIM_MULTIVERSION void block_apply(const VarianceStep<T> s, const RowBlock<T> b) {
  apply_rows<WideLanes<T>>(s, b);
}
#if DESCENT_OPTIM_AVX512
template <class T>
DESCENT_OPTIM_AVX512_TARGET double block_statistics_avx512(const VarianceStep<T> s, const RowBlock<T> b) {
  return statistics_rows<Wide64Lanes<T>>(s, b);
}
template <class T>
DESCENT_OPTIM_AVX512_TARGET double block_update_sq_avx512(const VarianceStep<T> s, const RowBlock<T> b) {
  return update_sq_rows<Wide64Lanes<T>>(s, b);
}
template <class T>
DESCENT_OPTIM_AVX512_TARGET void block_apply_avx512(const VarianceStep<T> s, const RowBlock<T> b) {
  apply_rows<Wide64Lanes<T>>(s, b);
}
#endif

// The reference path: the same three passes as plain scalar loops, one element at a time, summing in the
// order of the fast path's lanes (a row's body columns into W running sums by c % W, then the rest).
template <class T>
DESCENT_OPTIM_MULTIVERSION double reference_statistics(const VarianceStep<T> s, const RowBlock<T> b) {
  constexpr std::int64_t width = WideLanes<T>::width;
  const std::int64_t body = b.cols - b.cols % width;
  for (std::int64_t c = 0; c < b.cols; ++c) b.col_sums[c] = 0;
  double param_sq = 0;
  for (std::int64_t r = 0; r < b.rows; ++r) {
    const T* g = b.grad + r * b.cols;
    const T* x = b.param + r * b.cols;
    double grad_lanes[width] = {}, param_lanes[width] = {};
    double row_sum = 0, row_param = 0;
    for (std::int64_t c = 0; c < b.cols; ++c) {
      const double g2 = square(T(g[c] * s.multiplier)), p2 = square(x[c]);
      b.col_sums[c] += g2;
      if (c < body) grad_lanes[c % width] += g2, param_lanes[c % width] += p2;
    }
    for (std::int64_t k = 0; k < width; ++k) row_sum += grad_lanes[k], row_param += param_lanes[k];
    for (std::int64_t c = body; c < b.cols; ++c) row_sum += square(T(g[c] * s.multiplier)), row_param += square(x[c]);
    b.row_var[r] = mean_update(s, b.row_var[r], row_sum, b.cols);
    param_sq += row_param;
  }
  return param_sq;
}

template <class T>
DESCENT_OPTIM_MULTIVERSION double reference_update_sq(const VarianceStep<T> s, const RowBlock<T> b) {
  constexpr std::int64_t width = WideLanes<T>::width;
  const std::int64_t body = b.cols - b.cols % width;
  double update_sq = 0;
  for (std::int64_t r = 0; r < b.rows; ++r) {
    const T* g = b.grad + r * b.cols;
    double lanes[width] = {};
    double row_sum = 0;
    for (std::int64_t c = 0; c < body; ++c)
      lanes[c % width] += square(factored_update(s, g[c], b.row_var[r], b.col_var[c], b.row_mean));
    for (std::int64_t k = 0; k < width; ++k) row_sum += lanes[k];
    for (std::int64_t c = body; c < b.cols; ++c)
      row_sum += square(factored_update(s, g[c], b.row_var[r], b.col_var[c], b.row_mean));
    update_sq += row_sum;
  }
  return update_sq;
}

template <class T>
DESCENT_OPTIM_MULTIVERSION void reference_apply(const VarianceStep<T> s, const RowBlock<T> b) {
  for (std::int64_t r = 0; r < b.rows; ++r)
    for (std::int64_t c = 0; c < b.cols; ++c) {
      T& x = b.param[r * b.cols + c];
      x = decayed_step(s, x, factored_update(s, b.grad[r * b.cols + c], b.row_var[r], b.col_var[c], b.row_mean));
    }
}

// Between passes 1 and 2, for both paths: each matrix's column sums (its blocks' sums added in order into
// the first block's) become col_var, and its row_var gives mean(row_var).
template <class T>
void finish_statistics(const VarianceStep<T>& s, const FactoredShape& f, double* col_sums, T* row_var, T* col_var,
                       T eps1, double* row_means) {
  for (std::int64_t m = 0; m < f.batch; ++m) {
    double* sums = col_sums + m * f.blocks * f.cols;
    for (std::int64_t block = 1; block < f.blocks; ++block)
      for (std::int64_t c = 0; c < f.cols; ++c) sums[c] += sums[block * f.cols + c];
    T* cv = col_var + m * f.cols;
    for (std::int64_t c = 0; c < f.cols; ++c) cv[c] = mean_update(s, cv[c], sums[c], f.rows);
    double row_var_sum = 0;
    for (std::int64_t r = 0; r < f.rows; ++r) row_var_sum += double(row_var[m * f.rows + r]);
    row_means[m] = double(std::max(T(row_var_sum / double(f.rows)), eps1));
  }
}

}  // namespace

void Adafactor::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const std::int64_t t = ++state.step;
  for (const TensorSlice& slice : tensor_slices(group, segment))
    update_tensor(group, *slice.param, slice.param->grad(), moments_[slice.param_index], t);
}

namespace {

// eps[0]; null (the default, PyTorch's None) is the machine epsilon of the parameter's dtype.
double eps1_for(const ParamGroup& group, DType dtype) {
  const auto& eps1 = group.options["eps"][0];
  if (!eps1.is_null()) return eps1.get<double>();
  return dtype == DType::Float64 ? std::numeric_limits<double>::epsilon()
                                 : double(std::numeric_limits<float>::epsilon());
}

}  // namespace

void Adafactor::update_tensor(const ParamGroup& group, const Tensor& param, const Tensor& grad_tensor,
                              Moments& moments, std::int64_t step) {
  const double lr = group.number("lr");
  const StepScalars scalars{lr,
                            group.number("weight_decay"),
                            group.number("d"),
                            eps1_for(group, param.dtype()),
                            group.pair("eps", 1),
                            grad_multiplier(group),
                            std::pow(double(step), group.number("beta2_decay")),
                            std::min(lr, 1.0 / std::sqrt(double(step)))};
  const bool factored = param.dim() >= 2;
  if (factored && !moments.row_var.defined()) {
    Shape row_shape = param.shape(), col_shape = param.shape();
    row_shape[row_shape.size() - 1] = 1;
    col_shape[col_shape.size() - 2] = 1;
    moments.row_var = zeros(row_shape, param.dtype());
    moments.col_var = zeros(col_shape, param.dtype());
  } else if (!factored && !moments.variance.defined()) {
    moments.variance = zeros(param.shape(), param.dtype());
  }
  if (factored)
    update_factored(param, grad_tensor, moments, scalars);
  else
    update_unfactored(param, grad_tensor, moments, scalars);
}

// Unfactored (1-D) parameters. The fast path: one fused, threaded, vectorised pass updates the variance
// and sums ||p||^2 and ||u||^2; a second applies p <- p * (1 - lr * wd) - alpha / max(1, RMS(u) / d) * u,
// recomputing u. The reference path runs the element-wise parts as plain scalar loops (variance, then
// the update) and takes the same two sums over the stored variance through vector_sums, so both paths
// agree bitwise.
void Adafactor::update_unfactored(const Tensor& param, const Tensor& grad_tensor, Moments& moments,
                                  const StepScalars& k) {
  const double lr = k.lr, wd = k.weight_decay, d = k.d, eps1 = k.eps1, eps2 = k.eps2;
  const double multiplier = k.multiplier, beta_t = k.beta_t, rho_t = k.rho_t;
  const std::int64_t n = param.numel();
  const bool fused = !reference_path();
  dispatch_floating(param.dtype(), "adafactor", [&](auto zero) {
    using T = decltype(zero);
    T* p = param.data<T>();
    const T* g = grad_tensor.data<T>();
    T* variance = moments.variance.data<T>();
    VarianceStep<T> s{T(multiplier), T(beta_t), T(eps1 * eps1), T(wd == 0 ? 1.0 : 1.0 - lr * wd), T(0)};
    if (!fused)
      for (std::int64_t i = 0; i < n; ++i) {
        const T scaled = g[i] * s.multiplier;
        variance[i] = lerp(variance[i], scaled * scaled, s.weight);
      }
    const auto sums = vector_sums<T, 2>(n, [=](auto lanes, std::int64_t i) DESCENT_TERM {
      using L = decltype(lanes);
      const typename L::V x = L::load(p + i);
      typename L::V v = L::load(variance + i);
      if (fused) {
        const typename L::V scaled = L::load(g + i) * s.multiplier;
        v = lerp(v, scaled * scaled, s.weight);
        L::store(variance + i, v);
      }
      const typename L::V u = variance_update(s, L::load(g + i), v);
      return std::array<typename L::V, 2>{x * x, u * u};
    });
    const double alpha = std::max(eps2, std::sqrt(sums[0]) / std::sqrt(double(n))) * rho_t;
    const double denom = std::max(1.0, std::sqrt(sums[1]) / (std::sqrt(double(n)) * d));
    s.scale = T(-alpha / denom);
    if (!fused) {
      for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] * s.decay + s.scale * variance_update(s, g[i], variance[i]);
      return;
    }
    [[maybe_unused]] const bool wide = wide_vectors();
    parallel_for(0, n, kGrain, [&](std::int64_t begin, std::int64_t end) {
#if DESCENT_OPTIM_AVX512
      if (wide) {
        apply_unfactored_avx512(s, p + begin, g + begin, variance + begin, end - begin);
        return;
      }
#endif
      apply_unfactored(s, p + begin, g + begin, variance + begin, end - begin);
    });
  });
}

// Factored parameters (two or more dimensions): the three passes described above the kernels. The fast
// path runs each pass over the blocks with parallel_for (chunks of whole blocks, so no sum depends on the
// thread count), with 64-byte vectors where wide_vectors() says so; the reference path runs the plain
// loops over the blocks in order.
void Adafactor::update_factored(const Tensor& param, const Tensor& grad_tensor, Moments& moments,
                                const StepScalars& k) {
  const FactoredShape f = factored_shape(param);
  if (f.items() == 0) return;
  const std::int64_t n = param.numel();
  scratch_.col_sums.resize(std::size_t(f.items() * f.cols));
  scratch_.block_sums.resize(std::size_t(f.items()));
  scratch_.row_means.resize(std::size_t(f.batch));
  const bool reference = reference_path();
  [[maybe_unused]] const bool wide = !reference && wide_vectors();  // the 64-byte loops
  const std::int64_t grain = std::max<std::int64_t>(1, kBlockElements / std::max<std::int64_t>(f.block_rows * f.cols, 1));
  dispatch_floating(param.dtype(), "adafactor", [&](auto zero) {
    using T = decltype(zero);
    VarianceStep<T> s{T(k.multiplier), T(k.beta_t), T(k.eps1 * k.eps1),
                      T(k.weight_decay == 0 ? 1.0 : 1.0 - k.lr * k.weight_decay), T(0)};
    T* p = param.data<T>();
    const T* g = grad_tensor.data<T>();
    T* row_var = moments.row_var.data<T>();
    T* col_var = moments.col_var.data<T>();
    double* col_sums = scratch_.col_sums.data();
    double* block_sums = scratch_.block_sums.data();
    double* row_means = scratch_.row_means.data();
    // Calls fn(item) for every block: in order on the reference path, in parallel chunks on the fast path.
    const auto each_block = [&](auto&& fn) {
      if (reference) {
        for (std::int64_t item = 0; item < f.items(); ++item) fn(item);
        return;
      }
      parallel_for(0, f.items(), grain, [&fn](std::int64_t first, std::int64_t last) {
        for (std::int64_t item = first; item < last; ++item) fn(item);
      });
    };
    const auto blocks_total = [&] {
      double total = 0;
      for (std::int64_t item = 0; item < f.items(); ++item) total += block_sums[item];
      return total;
    };

    each_block([&](std::int64_t item) {
      const RowBlock<T> b = row_block(f, item, p, g, row_var, col_var, col_sums, nullptr);
#if DESCENT_OPTIM_AVX512
      if (wide) {
        block_sums[item] = block_statistics_avx512(s, b);
        return;
      }
#endif
      block_sums[item] = reference ? reference_statistics(s, b) : block_statistics(s, b);
    });
    const double param_sq = blocks_total();
    finish_statistics(s, f, col_sums, row_var, col_var, T(k.eps1), row_means);
    each_block([&](std::int64_t item) {
      const RowBlock<T> b = row_block(f, item, p, g, row_var, col_var, col_sums, row_means);
#if DESCENT_OPTIM_AVX512
      if (wide) {
        block_sums[item] = block_update_sq_avx512(s, b);
        return;
      }
#endif
      block_sums[item] = reference ? reference_update_sq(s, b) : block_update_sq(s, b);
    });
    const double update_sq = blocks_total();
    const double alpha = std::max(k.eps2, std::sqrt(param_sq) / std::sqrt(double(n))) * k.rho_t;
    const double denom = std::max(1.0, std::sqrt(update_sq) / (std::sqrt(double(n)) * k.d));
    s.scale = T(-alpha / denom);
    each_block([&](std::int64_t item) {
      const RowBlock<T> b = row_block(f, item, p, g, row_var, col_var, col_sums, row_means);
#if DESCENT_OPTIM_AVX512
      if (wide) {
        block_apply_avx512(s, b);
        return;
      }
#endif
      if (reference)
        reference_apply(s, b);
      else
        block_apply(s, b);
    });
  });
}

std::size_t Adafactor::state_bytes() const {
  std::size_t total = Optimizer::state_bytes();
  for (const auto& [index, moments] : moments_)
    for (const Tensor* t : {&moments.row_var, &moments.col_var, &moments.variance})
      if (t->defined()) total += std::size_t(t->numel()) * dtype_size(t->dtype());
  return total;
}

StateDict Adafactor::state_dict() const {
  StateDict out = Optimizer::state_dict();
  for (const auto& [index, moments] : moments_) {
    const std::string prefix = std::to_string(index) + ".";
    if (moments.row_var.defined()) out.tensors[prefix + "row_var"] = moments.row_var.clone();
    if (moments.col_var.defined()) out.tensors[prefix + "col_var"] = moments.col_var.clone();
    if (moments.variance.defined()) out.tensors[prefix + "variance"] = moments.variance.clone();
    out.meta["moments"].push_back(index);
  }
  return out;
}

void Adafactor::load_state_dict(const StateDict& state) {
  std::vector<const Tensor*> params;
  for (const auto& group : param_groups())
    for (const auto& p : group.params) params.push_back(&p);
  StateDict rest = state;
  std::map<std::size_t, Moments> moments;
  for (auto it = rest.tensors.begin(); it != rest.tensors.end();) {
    const auto dot = it->first.find('.');
    const std::string buffer = dot == std::string::npos ? "" : it->first.substr(dot + 1);
    if (buffer != "row_var" && buffer != "col_var" && buffer != "variance") {
      ++it;
      continue;
    }
    const std::size_t index = parse_state_key(name(), it->first, params.size()).index;
    const Tensor& p = *params[index];
    Shape want = p.shape();
    if (buffer == "row_var" || buffer == "col_var") {
      DESCENT_CHECK(p.dim() >= 2, name(), ": load_state_dict: tensor '", it->first, "' is factored state, but parameter ",
                    index, " has shape ", p.shape());
      want[want.size() - (buffer == "row_var" ? 1 : 2)] = 1;
    }
    DESCENT_CHECK(it->second.shape() == want, name(), ": load_state_dict: tensor '", it->first, "' has shape ",
                  it->second.shape(), "; expected ", want);
    Tensor copy = it->second.to(p.dtype()).contiguous_copy();
    Moments& m = moments[index];
    (buffer == "row_var" ? m.row_var : buffer == "col_var" ? m.col_var : m.variance) =
        copy.shares_storage(it->second) ? copy.clone() : copy;
    it = rest.tensors.erase(it);
  }
  // Each parameter the state lists has its second-moment tensors: both factors, or the full variance.
  if (state.meta.is_object() && state.meta.contains("moments"))
    for (const auto& entry : state.meta["moments"]) {
      DESCENT_CHECK(entry.is_number_unsigned() && entry.get<std::size_t>() < params.size(), name(),
                    ": load_state_dict: \"moments\" lists ", entry.dump(), "; expected parameter indices below ", params.size());
      const auto it = moments.find(entry.get<std::size_t>());
      const bool whole = it != moments.end() && (it->second.variance.defined() ||
                                                 (it->second.row_var.defined() && it->second.col_var.defined()));
      DESCENT_CHECK(whole, name(), ": load_state_dict: the second moments of parameter ", entry.dump(),
                    " are missing (expected tensors ", entry.dump(), ".row_var and .col_var, or .variance)");
    }
  Optimizer::load_state_dict(rest);
  moments_ = std::move(moments);
}

}  // namespace descent::optim
