#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "descent/core/allocator.hpp"
#include "descent/core/error.hpp"
#include "descent/core/parallel.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

using namespace descent;

TEST(Shape, BroadcastFollowsNumpyRules) {
  EXPECT_EQ(broadcast_shapes(Shape{3, 1}, Shape{4}, "t"), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes(Shape{}, Shape{2, 2}, "t"), (Shape{2, 2}));
  EXPECT_THROW(broadcast_shapes(Shape{3}, Shape{4}, "t"), Error);
}

TEST(Shape, WrapDimRejectsOutOfRange) {
  EXPECT_EQ(wrap_dim(-1, 3, "t"), 2);
  EXPECT_THROW(wrap_dim(3, 3, "t"), Error);
  try {
    wrap_dim(5, 2, "sum");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sum"), std::string::npos);
  }
}

TEST(Tensor, FactoriesAndItem) {
  Tensor t = full(Shape{2, 3}, 1.5);
  EXPECT_EQ(t.numel(), 6);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_FLOAT_EQ(t.to_vector<float>()[5], 1.5f);
  EXPECT_THROW(t.item<float>(), Error);
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_EQ(arange(4).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2, 3}));
}

TEST(Tensor, StridedViewCopiesInRowMajorOrder) {
  Tensor t = from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, Shape{2, 3});
  Tensor transposed = as_strided(t, Shape{3, 2}, Shape{1, 3}, 0);
  EXPECT_FALSE(transposed.is_contiguous());
  EXPECT_EQ(transposed.clone().to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(as_strided(t, Shape{3, 3}, Shape{3, 1}, 0), Error);
}

TEST(Tensor, CopyBroadcastsAndConverts) {
  Tensor dst = zeros(Shape{2, 3}, DType::Float64);
  dst.copy_(from_vector(std::vector<float>{1, 2, 3}, Shape{3}));
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{1, 2, 3, 1, 2, 3}));
  EXPECT_THROW(dst.copy_(zeros(Shape{4})), Error);
}

TEST(Tensor, InPlaceOnLeafRequiringGradIsRefused) {
  Tensor w = zeros(Shape{3});
  w.set_requires_grad(true);
  EXPECT_THROW(w.fill_(1.0), Error);
  NoGradGuard guard;
  EXPECT_NO_THROW(w.fill_(1.0));
}

TEST(Generator, SeededAndForkable) {
  Generator a(7), b(7);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  Generator c(7);
  const auto state = c.state();
  const double first = c.normal();
  c.set_state(state);
  EXPECT_EQ(c.normal(), first);
  double sum = 0, sq = 0;
  Generator g(1);
  for (int i = 0; i < 20000; ++i) {
    const double x = g.normal();
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / 20000, 0.0, 0.03);
  EXPECT_NEAR(sq / 20000, 1.0, 0.05);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(g.below(7), 7u);
}

TEST(Allocator, ReusesFreedBlocks) {
  auto& allocator = CachingAllocator::instance();
  { Tensor t = empty(Shape{1000}); }
  const auto before = allocator.stats().cache_hits;
  { Tensor t = empty(Shape{1000}); }
  EXPECT_GT(allocator.stats().cache_hits, before);
  EXPECT_LE(CachingAllocator::size_class(1000), 1000u * 9 / 8);
  EXPECT_GE(CachingAllocator::size_class(1000), 1000u);
}

TEST(Parallel, CoversRangeExactlyOnce) {
  std::vector<int> hits(100000, 0);
  parallel_for(0, 100000, 1000, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) hits[std::size_t(i)]++;
  });
  for (int h : hits) ASSERT_EQ(h, 1);
}

#include "descent/core/blas.hpp"

// The GEMM wrapper's special cases (rank-1, matrix-vector, vector-matrix) against a plain triple loop,
// for every transpose combination, alpha and beta.
TEST(Blas, SpecialCasesMatchPlainLoop) {
  Generator gen(3);
  const std::vector<std::array<std::int64_t, 3>> shapes = {{5, 7, 1}, {6, 1, 9}, {1, 8, 5}, {4, 6, 3}, {1, 1, 4}};
  for (auto [m, n, k] : shapes) {
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        for (double beta : {0.0, 1.0, 0.5}) {
          std::vector<double> a(std::size_t(m * k)), b(std::size_t(k * n)), c(std::size_t(m * n)), want;
          for (auto& v : a) v = gen.normal();
          for (auto& v : b) v = gen.normal();
          for (auto& v : c) v = gen.normal();
          const std::int64_t lda = ta ? m : k, ldb = tb ? k : n;
          want = c;
          for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < n; ++j) {
              double acc = 0;
              for (std::int64_t p = 0; p < k; ++p)
                acc += (ta ? a[std::size_t(p * lda + i)] : a[std::size_t(i * lda + p)]) *
                       (tb ? b[std::size_t(j * ldb + p)] : b[std::size_t(p * ldb + j)]);
              want[std::size_t(i * n + j)] = 1.5 * acc + beta * c[std::size_t(i * n + j)];
            }
          blas::gemm(ta, tb, m, n, k, 1.5, a.data(), lda, b.data(), ldb, beta, c.data(), n);
          for (std::size_t i = 0; i < c.size(); ++i)
            ASSERT_NEAR(c[i], want[i], 1e-12) << m << "x" << n << "x" << k << " ta=" << ta << " tb=" << tb;
        }
      }
    }
  }
}

TEST(Parallel, ResizingThePoolAfterUseIsSafe) {
  const int original = num_threads();
  for (int round = 0; round < 20; ++round) {
    set_num_threads(1 + round % 3);
    std::vector<int> hits(50000, 0);
    parallel_for(0, 50000, 100, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) hits[std::size_t(i)]++;
    });
    for (int h : hits) ASSERT_EQ(h, 1);
  }
  set_num_threads(original);
}

// Regions back to back (workers still polling), after pauses longer than the polling time (workers asleep
// on the condition variable), and with fewer tasks than threads (idle workers only acknowledge): every
// index runs exactly once per region, and no region's task runs again in the next one.
TEST(Parallel, BackToBackAndSleepingRegionsRunEachIndexOnce) {
  const int original = num_threads();
  set_num_threads(4);
  for (int region = 0; region < 3000; ++region) {
    const std::int64_t n = 1 + region % 7;
    std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
    parallel_for(0, n, 1, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) hits[std::size_t(i)].fetch_add(1);
    });
    for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[std::size_t(i)].load(), 1) << "region " << region << ", index " << i;
    if (region % 500 == 499) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  set_num_threads(original);
}
