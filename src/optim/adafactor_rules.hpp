#pragma once
// Adafactor's per-element rules and its factored passes over blocks of rows, for the fused and reference
// paths. Private to adafactor.cpp, which includes it once (the multiversioned passes stay internal to
// that file, as an anonymous namespace keeps them).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "descent/core/tensor.hpp"
#include "descent/optim/kernel.hpp"

namespace descent::optim {
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

}  // namespace descent::optim
