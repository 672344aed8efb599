// The 16-bit GEMMs against a plain double-precision loop over the same 16-bit values, for every layout,
// alpha and beta; the oneDNN and widening kernels against each other; the bulk conversions against the
// scalar ones of half.hpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "descent/core/blas.hpp"
#include "descent/core/convert.hpp"
#include "descent/core/error.hpp"

namespace descent {
namespace {

template <class S>
std::vector<S> random_matrix(std::int64_t count, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<S> out(static_cast<std::size_t>(count));
  for (auto& v : out) v = S(dist(rng));
  return out;
}

struct Case {
  bool ta, tb;
  std::int64_t m, n, k;
  float alpha, beta;
};

// C = alpha op(A) op(B) + beta C with each product exact (double) and each sum in double; the kernels sum
// in float32, so they may differ by k float32 roundings of the partial sums.
template <class S>
void check_case(const Case& c, std::mt19937& rng) {
  const std::int64_t lda = (c.ta ? c.m : c.k) + 3, ldb = (c.tb ? c.k : c.n) + 1, ldc = c.n + 2;
  const auto a = random_matrix<S>((c.ta ? c.k : c.m) * lda, rng);
  const auto b = random_matrix<S>((c.tb ? c.n : c.k) * ldb, rng);
  std::vector<float> out(static_cast<std::size_t>(c.m * ldc));
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (auto& v : out) v = dist(rng);
  const std::vector<float> before = out;
  blas::gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(), ldb, c.beta, out.data(), ldc);
  for (std::int64_t i = 0; i < c.m; ++i)
    for (std::int64_t j = 0; j < c.n; ++j) {
      double sum = 0, magnitude = 0;
      for (std::int64_t p = 0; p < c.k; ++p) {
        const double x = float(c.ta ? a[std::size_t(p * lda + i)] : a[std::size_t(i * lda + p)]);
        const double y = float(c.tb ? b[std::size_t(j * ldb + p)] : b[std::size_t(p * ldb + j)]);
        sum += x * y;
        magnitude += std::abs(x * y);
      }
      const double prior = before[std::size_t(i * ldc + j)];
      const double expected = c.alpha * sum + c.beta * prior;
      const double tolerance = 1e-6 * double(c.k + 2) * (std::abs(c.alpha) * magnitude + std::abs(c.beta * prior)) + 1e-30;
      ASSERT_NEAR(out[std::size_t(i * ldc + j)], expected, tolerance)
          << "at (" << i << ", " << j << ") of m=" << c.m << " n=" << c.n << " k=" << c.k << " ta=" << c.ta
          << " tb=" << c.tb << " alpha=" << c.alpha << " beta=" << c.beta;
    }
  for (std::int64_t i = 0; i < c.m; ++i)  // the padding between rows of C is untouched
    for (std::int64_t j = c.n; j < ldc; ++j)
      ASSERT_EQ(out[std::size_t(i * ldc + j)], before[std::size_t(i * ldc + j)]);
}

template <class S>
void check_all_layouts() {
  std::mt19937 rng(7);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (const auto& [m, n, k] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{1, 1, 1},
                                    {1, 17, 5}, {9, 1, 33}, {3, 4, 0}, {37, 45, 29}, {64, 96, 128}, {130, 70, 300}})
        for (const auto& [alpha, beta] : {std::pair{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}})
          check_case<S>({ta, tb, m, n, k, alpha, beta}, rng);
}

class Bf16Kernels : public ::testing::Test {
 protected:
  void TearDown() override { blas::set_bf16_kernel(initial_); }
  blas::Bf16Kernel initial_ = blas::bf16_kernel();
};

TEST_F(Bf16Kernels, WideningKernelMatchesTheReferenceLoop) {
  blas::set_bf16_kernel(blas::Bf16Kernel::Widen);
  check_all_layouts<BFloat16>();
}

TEST_F(Bf16Kernels, OneDnnKernelMatchesTheReferenceLoop) {
  if (!blas::cpu_has_bf16()) GTEST_SKIP() << "this processor lacks AVX512-BF16";
  blas::set_bf16_kernel(blas::Bf16Kernel::OneDnn);
  check_all_layouts<BFloat16>();
}

TEST_F(Bf16Kernels, OneDnnAndWideningAgreeOnATrainingSizedProduct) {
  if (!blas::cpu_has_bf16()) GTEST_SKIP() << "this processor lacks AVX512-BF16";
  std::mt19937 rng(3);
  const std::int64_t m = 128, n = 256, k = 784;
  const auto a = random_matrix<BFloat16>(m * k, rng), b = random_matrix<BFloat16>(n * k, rng);
  std::vector<float> fast(std::size_t(m * n)), wide(std::size_t(m * n));
  blas::set_bf16_kernel(blas::Bf16Kernel::OneDnn);
  blas::gemm(false, true, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, fast.data(), n);
  blas::set_bf16_kernel(blas::Bf16Kernel::Widen);
  blas::gemm(false, true, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, wide.data(), n);
  for (std::size_t i = 0; i < fast.size(); ++i) ASSERT_NEAR(fast[i], wide[i], 1e-4f * (1.0f + std::abs(wide[i])));
}

TEST_F(Bf16Kernels, EnvironmentChoosesTheKernel) {
  const char* env = std::getenv("DESCENT_BF16_GEMM");
  if (env == nullptr) {
    EXPECT_EQ(initial_, blas::cpu_has_bf16() ? blas::Bf16Kernel::OneDnn : blas::Bf16Kernel::Widen);
  } else {
    EXPECT_STREQ(blas::bf16_kernel_name(initial_), env);
  }
  if (!blas::cpu_has_bf16()) {
    EXPECT_THROW(blas::set_bf16_kernel(blas::Bf16Kernel::OneDnn), descent::Error);
  }
}

TEST(Float16Gemm, MatchesTheReferenceLoop) { check_all_layouts<Float16>(); }

template <class S>
void check_bulk_conversion() {
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::uint32_t> bits;
  // Random bit patterns (every class: zeros, subnormals, normals, Inf, NaN), odd length for the tails.
  std::vector<float> src(200003);
  for (auto& v : src) v = __builtin_bit_cast(float, bits(rng));
  std::vector<S> low(src.size());
  convert(src.data(), low.data(), std::int64_t(src.size()));
  std::vector<float> back(src.size());
  convert(low.data(), back.data(), std::int64_t(src.size()));
  for (std::size_t i = 0; i < src.size(); ++i) {
    ASSERT_EQ(low[i].bits, S(src[i]).bits) << "float bits " << std::hex << __builtin_bit_cast(std::uint32_t, src[i]);
    ASSERT_EQ(__builtin_bit_cast(std::uint32_t, back[i]), __builtin_bit_cast(std::uint32_t, float(low[i])));
  }
}

TEST(BulkConversion, BFloat16MatchesTheScalarConversion) { check_bulk_conversion<BFloat16>(); }
TEST(BulkConversion, Float16MatchesTheScalarConversion) { check_bulk_conversion<Float16>(); }

}  // namespace
}  // namespace descent
