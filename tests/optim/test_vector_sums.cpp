// vector_sums and its block kernels (include/descent/optim/tensor_pass.hpp) against a plain loop written
// from the documented order: runs of kSumRun elements, the j-th 32-byte vector of a run into accumulator
// j % 4, the accumulators added pairwise in T, their lanes in double, the block's scalar tail in double.
// LAMB, LARS, NovoGrad and Adafactor take their trust ratios and norms from these sums in the reference
// path and the fast path alike, so the optimizer tests cannot see an error in the order; this test can.
// On AVX-512 processors the 64-byte kernel must give the same bits as the 32-byte one.
#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined terms (see kernel.hpp)
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/optim/tensor_pass.hpp"

namespace descent::optim {
namespace {

// The documented order, one element at a time.
template <class T>
std::array<double, 2> plain_sums(const std::vector<T>& x, std::int64_t i, std::int64_t end) {
  constexpr std::int64_t width = WideLanes<T>::width;
  std::array<double, 2> sum{};
  while (i + width <= end) {
    const std::int64_t stop = std::min(end, i + kSumRun);
    T acc[4][2][width] = {};
    for (std::int64_t j = 0; i + width <= stop; i += width, ++j)
      for (std::int64_t lane = 0; lane < width; ++lane) {
        const T v = x[std::size_t(i + lane)];
        acc[j % 4][0][lane] += v;
        acc[j % 4][1][lane] += v * v;
      }
    for (int k = 0; k < 2; ++k)
      for (std::int64_t lane = 0; lane < width; ++lane)
        sum[k] += double((acc[0][k][lane] + acc[1][k][lane]) + (acc[2][k][lane] + acc[3][k][lane]));
  }
  for (; i < end; ++i) {
    sum[0] += double(x[std::size_t(i)]);
    sum[1] += double(x[std::size_t(i)] * x[std::size_t(i)]);
  }
  return sum;
}

template <class T>
std::vector<T> random_values(std::int64_t n, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<T> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = T(gen.uniform() * 2.0 - 1.0);
  return x;
}

template <class T>
auto sum_and_square(const std::vector<T>& x) {
  return [p = x.data()](auto lanes, std::int64_t i) DESCENT_TERM {
    using L = decltype(lanes);
    const typename L::V v = L::load(p + i);
    return std::array<typename L::V, 2>{v, v * v};
  };
}

// Lengths around every boundary of the order: vectors, groups of four, runs, one kSumBlock block.
const std::vector<std::int64_t> kLengths = {0,    1,    7,    8,    9,    17,   31,   32,   33,   56,
                                            1023, 1024, 1025, 1048, 1056, 3000, 4104, 8191, 8192};

template <class T>
void check_block_kernels() {
  for (const std::int64_t n : kLengths) {
    const auto x = random_values<T>(n, 17 + std::uint64_t(n));
    const auto want = plain_sums(x, 0, n);
    const auto narrow = block_sums<T, 2>(sum_and_square(x), 0, n);
    EXPECT_EQ(narrow, want) << "32-byte block_sums, n = " << n;
#if DESCENT_OPTIM_AVX512
    if (processor_has_avx512()) {
      const auto wide = block_sums_avx512<T, 2>(sum_and_square(x), 0, n);
      EXPECT_EQ(wide, want) << "64-byte block_sums, n = " << n;
    }
#endif
  }
}

TEST(VectorSums, BlockKernelsFollowTheDocumentedOrderFloat) { check_block_kernels<float>(); }
TEST(VectorSums, BlockKernelsFollowTheDocumentedOrderDouble) { check_block_kernels<double>(); }

TEST(VectorSums, BlocksAreAddedInOrder) {
  for (const std::int64_t n : {kSumBlock - 3, 3 * kSumBlock + 1001, 5 * kSumBlock, 40 * kSumBlock + 7}) {
    const auto x = random_values<float>(n, 5);
    std::array<double, 2> want{};
    for (std::int64_t begin = 0; begin < n; begin += kSumBlock) {
      const auto block = plain_sums(x, begin, std::min(n, begin + kSumBlock));
      want[0] += block[0], want[1] += block[1];
    }
    EXPECT_EQ((vector_sums<float, 2>(n, sum_and_square(x))), want) << "n = " << n;
  }
}

}  // namespace
}  // namespace descent::optim
