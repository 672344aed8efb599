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

// The sums of one block [i, end) for vector_sums: lanes accumulate in T over runs of 1024 elements, then
// are added in double. Cloned per instruction set like the rule loops; `term` must be always-inlined
// (DESCENT_TERM) so that each clone computes it with its own vector width.
template <class T, std::size_t N, class Term>
DESCENT_OPTIM_MULTIVERSION std::array<double, N> block_sums(const Term& term, std::int64_t i, std::int64_t end) {
  constexpr std::int64_t width = WideLanes<T>::width;
  std::array<double, N> sum{};
  while (i + width <= end) {
    const std::int64_t stop = std::min(end, i + 1024);
    std::array<typename WideLanes<T>::V, N> run{};
    for (; i + width <= stop; i += width) {
      const auto t = term(WideLanes<T>{}, i);
      for (std::size_t k = 0; k < N; ++k) run[k] += t[k];
    }
    for (std::size_t k = 0; k < N; ++k)
      for (std::int64_t lane = 0; lane < width; ++lane) sum[k] += double(run[k][lane]);
  }
  for (; i < end; ++i) {
    const auto t = term(ScalarLanes<T>{}, i);
    for (std::size_t k = 0; k < N; ++k) sum[k] += double(t[k]);
  }
  return sum;
}

#if DESCENT_OPTIM_AVX512
// block_sums with 64-byte vectors, adding in exactly the same order: each 64-byte term is added to the
// 32-byte runs as its low half, then its high half, and a run's last 32-byte vector (when the run length
// is an odd number of them) goes through the 32-byte term, so the sums are bitwise those of block_sums.
template <class T, std::size_t N, class Term>
DESCENT_OPTIM_AVX512_TARGET std::array<double, N> block_sums_avx512(const Term& term, std::int64_t i,
                                                                   std::int64_t end) {
  using Wide = Wide64Lanes<T>;
  constexpr std::int64_t width = WideLanes<T>::width;
  std::array<double, N> sum{};
  while (i + width <= end) {
    const std::int64_t stop = std::min(end, i + 1024);
    std::array<typename WideLanes<T>::V, N> run{};
    for (; i + Wide::width <= stop; i += Wide::width) {
      const auto t = term(Wide{}, i);
      for (std::size_t k = 0; k < N; ++k) {
        run[k] += low_half(t[k]);
        run[k] += high_half(t[k]);
      }
    }
    for (; i + width <= stop; i += width) {
      const auto t = term(WideLanes<T>{}, i);
      for (std::size_t k = 0; k < N; ++k) run[k] += t[k];
    }
    for (std::size_t k = 0; k < N; ++k)
      for (std::int64_t lane = 0; lane < width; ++lane) sum[k] += double(run[k][lane]);
  }
  for (; i < end; ++i) {
    const auto t = term(ScalarLanes<T>{}, i);
    for (std::size_t k = 0; k < N; ++k) sum[k] += double(t[k]);
  }
  return sum;
}
#endif

// Marks a vector_sums term lambda: `[&](auto lanes, std::int64_t i) DESCENT_TERM { ... }`.
#define DESCENT_TERM __attribute__((always_inline))

// Sums term(lanes, i) over [0, n): term returns std::array<typename decltype(lanes)::V, N> for the element
// (ScalarLanes<T>) or the vector (WideLanes<T>) starting at i, and is called exactly once per element, so
// it may also update state in place (LAMB fuses its moment update with its norms this way). Work is split
// in fixed blocks of kGrain elements, added in order, so the result does not depend on the thread count;
// inside a block lanes accumulate in T over runs of 1024 elements and are then added in double
// (vectorised, still accurate).
template <class T, std::size_t N, class Term>
std::array<double, N> vector_sums(std::int64_t n, Term&& term) {
  const std::int64_t blocks = (n + kGrain - 1) / kGrain;
  std::vector<std::array<double, N>> partial(std::size_t(blocks), std::array<double, N>{});
  [[maybe_unused]] const bool wide = wide_vectors();
  parallel_for(0, blocks, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t b = first; b < last; ++b) {
      const std::int64_t begin = b * kGrain, end = std::min(n, (b + 1) * kGrain);
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
