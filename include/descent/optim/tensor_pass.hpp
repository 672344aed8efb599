#pragma once
// Per-tensor work inside a segment, for the algorithms whose update needs a reduction over each parameter
// tensor (LAMB's and LARS's trust ratios, NovoGrad's per-layer second moment, Muon, Adafactor): the
// tensors a segment covers, a segment restricted to one tensor (so that run_rule can run with per-tensor
// scalars), and a deterministic parallel sum.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "descent/core/parallel.hpp"
#include "descent/optim/kernel.hpp"
#include "descent/optim/optimizer.hpp"

namespace descent::optim {

// One parameter tensor inside a segment: its global parameter index, the offset of its first element from
// the segment's start, and its element count.
struct TensorSlice {
  std::size_t param_index = 0;
  std::int64_t offset = 0;
  std::int64_t numel = 0;
  const Tensor* param = nullptr;
};

// The tensors of `segment`, in order (the segment's parameters are consecutive in `group`).
std::vector<TensorSlice> tensor_slices(const ParamGroup& group, const Segment& segment);

// `segment` restricted to one tensor; its state offset assumes state elements of the given dtype.
Segment slice_segment(const Segment& segment, const TensorSlice& slice, StateDType state_dtype);

// The order in which vector_sums adds, the same for every vector width so that all paths give the same
// bits: a block is cut into runs of kSumRun elements; inside a run the j-th 32-byte vector of terms goes
// to accumulator j % 4 (four independent chains, so the adds do not wait on each other), the four are
// added pairwise in T, ((0 + 1) + (2 + 3)), and their lanes are added in double, in lane order; the
// elements after the last whole 32-byte vector of the block are added one by one in double.
inline constexpr std::int64_t kSumRun = 1024;

template <class T, std::size_t N>
using SumRun = std::array<std::array<typename WideLanes<T>::V, N>, 4>;

template <class T, std::size_t N>
DESCENT_RULE void add_terms(std::array<typename WideLanes<T>::V, N>& run,
                            const std::array<typename WideLanes<T>::V, N>& terms) {
  for (std::size_t k = 0; k < N; ++k) run[k] += terms[k];
}

template <class T, std::size_t N>
DESCENT_RULE void fold_run(std::array<double, N>& sum, const SumRun<T, N>& run) {
  for (std::size_t k = 0; k < N; ++k) {
    const auto total = (run[0][k] + run[1][k]) + (run[2][k] + run[3][k]);
    for (std::int64_t lane = 0; lane < WideLanes<T>::width; ++lane) sum[k] += double(total[lane]);
  }
}

template <class T, std::size_t N, class Term>
DESCENT_RULE void add_scalar_tail(std::array<double, N>& sum, const Term& term, std::int64_t i, std::int64_t end) {
  for (; i < end; ++i) {
    const auto t = term(ScalarLanes<T>{}, i);
    for (std::size_t k = 0; k < N; ++k) sum[k] += double(t[k]);
  }
}

// The sums of one block [i, end) for vector_sums, with 32-byte vectors. Cloned per instruction set like
// the rule loops; `term` must be always-inlined (DESCENT_TERM) so that each clone computes it with its own
// vector width.
template <class T, std::size_t N, class Term>
DESCENT_OPTIM_MULTIVERSION std::array<double, N> block_sums(const Term& shared_term, std::int64_t i, std::int64_t end) {
  const Term term = shared_term;  // a local copy: see vector_sums
  using L = WideLanes<T>;
  constexpr std::int64_t width = L::width;
  std::array<double, N> sum{};
  while (i + width <= end) {
    const std::int64_t stop = std::min(end, i + kSumRun);
    SumRun<T, N> run{};
    for (; i + 4 * width <= stop; i += 4 * width)
      for (std::int64_t a = 0; a < 4; ++a) add_terms<T, N>(run[a], term(L{}, i + a * width));
    for (std::size_t a = 0; i + width <= stop; i += width, ++a) add_terms<T, N>(run[a], term(L{}, i));
    fold_run<T, N>(sum, run);
  }
  add_scalar_tail<T, N>(sum, term, i, end);
  return sum;
}

#if DESCENT_OPTIM_AVX512
// A 64-byte vector of terms: its low half to one accumulator, its high half to the next.
template <class T, std::size_t N>
DESCENT_RULE void add_wide_terms(std::array<typename WideLanes<T>::V, N>& lo,
                                 std::array<typename WideLanes<T>::V, N>& hi,
                                 const std::array<typename Wide64Lanes<T>::V, N>& terms) {
  for (std::size_t k = 0; k < N; ++k) {
    lo[k] += low_half(terms[k]);
    hi[k] += high_half(terms[k]);
  }
}

// The same with 64-byte vectors, in the same order: a 64-byte term covers two 32-byte vectors, so its low
// half goes to an even accumulator and its high half to the next.
template <class T, std::size_t N, class Term>
DESCENT_OPTIM_AVX512_TARGET std::array<double, N> block_sums_avx512(const Term& shared_term, std::int64_t i,
                                                                   std::int64_t end) {
  const Term term = shared_term;  // a local copy: see vector_sums
  using L = WideLanes<T>;
  using Wide = Wide64Lanes<T>;
  constexpr std::int64_t width = L::width;
  std::array<double, N> sum{};
  while (i + width <= end) {
    const std::int64_t stop = std::min(end, i + kSumRun);
    SumRun<T, N> run{};
    for (; i + 4 * width <= stop; i += 4 * width) {
      add_wide_terms<T, N>(run[0], run[1], term(Wide{}, i));
      add_wide_terms<T, N>(run[2], run[3], term(Wide{}, i + 2 * width));
    }
    std::size_t a = 0;
    if (i + 2 * width <= stop) {
      add_wide_terms<T, N>(run[0], run[1], term(Wide{}, i));
      i += 2 * width, a = 2;
    }
    if (i + width <= stop) {
      add_terms<T, N>(run[a], term(L{}, i));
      i += width;
    }
    fold_run<T, N>(sum, run);
  }
  add_scalar_tail<T, N>(sum, term, i, end);
  return sum;
}
#endif

// Marks a vector_sums term lambda: `[=](auto lanes, std::int64_t i) DESCENT_TERM { ... }`.
#define DESCENT_TERM __attribute__((always_inline))

// Elements per block of vector_sums: small enough that two threads get nearly equal shares of a tensor
// (the update pass that follows splits the tensor in equal halves, and each thread then finds much of its
// half in its own cache), large enough that a block's bookkeeping is negligible.
inline constexpr std::int64_t kSumBlock = 1 << 13;
static_assert(kGrain % kSumBlock == 0, "vector_sums gives each thread whole blocks of at least kGrain elements");

// Sums term(lanes, i) over [0, n): term returns std::array<typename decltype(lanes)::V, N> for the element
// (ScalarLanes<T>) or the vector (WideLanes<T>) starting at i, and is called exactly once per element, so
// it may also update state in place (LAMB fuses its moment update with its norms this way). Work is split
// in fixed blocks of kSumBlock elements, added in order, so the result does not depend on the thread count;
// inside a block, lanes accumulate in T over runs of kSumRun elements and are then added in double
// (vectorised, still accurate; the order is spelled out above kSumRun).
// Give term its captures by value (`[=]`): each block copies it into a local whose address never escapes,
// so the pointers and step scalars it holds stay in registers. Captured by reference, they would be loaded
// again after every store the term makes (a float store may alias a captured float), which made the
// fused norm passes 1.3-2x slower than their traffic.
template <class T, std::size_t N, class Term>
std::array<double, N> vector_sums(std::int64_t n, Term&& term) {
  const std::int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<std::array<double, N>> partial(std::size_t(blocks), std::array<double, N>{});
  [[maybe_unused]] const bool wide = wide_vectors();
  // Threads split the blocks as run_pass splits the elements (kGrain elements per task at least, so a
  // tensor run_pass updates on the calling thread is summed there too): the update pass that follows then
  // finds each share in the cache of the thread that summed it.
  parallel_for(0, blocks, kGrain / kSumBlock, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t b = first; b < last; ++b) {
      const std::int64_t begin = b * kSumBlock, end = std::min(n, (b + 1) * kSumBlock);
#if DESCENT_OPTIM_AVX512
      if (wide) {
        partial[std::size_t(b)] = block_sums_avx512<T, N>(term, begin, end);
        continue;
      }
#endif
      partial[std::size_t(b)] = block_sums<T, N>(term, begin, end);
    }
  });
  std::array<double, N> total{};
  for (const auto& sum : partial)
    for (std::size_t k = 0; k < N; ++k) total[k] += sum[k];
  return total;
}

// Calls fn.template operator()<T, S>() with T the parameter's element type and S the state's storage
// type (T, or BFloat16 for bfloat16 state).
template <class Fn>
void dispatch_param_state(DType dtype, StateDType state_dtype, Fn&& fn) {
  dispatch_floating(dtype, "optimizer step", [&](auto zero) {
    using T = decltype(zero);
    if (state_dtype == StateDType::BFloat16)
      fn.template operator()<T, BFloat16>();
    else
      fn.template operator()<T, T>();
  });
}

// One element of a state buffer as T (exact for bfloat16 storage).
template <class T, class S>
inline T load_state(const S* p, std::int64_t i) {
  return ScalarLanes<T>::load(p + i);
}

}  // namespace descent::optim
