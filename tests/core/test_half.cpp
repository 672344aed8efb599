// bfloat16 and float16: conversions over every bit pattern against independent references (the CPU's
// F16C instructions where it has them, an arithmetic decoder, and the ties-to-even rule at every
// midpoint), and the tensor paths that use them (to(), printing, fill, item).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "descent/core/half.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace descent;

namespace {

std::uint32_t bits_of(float x) { return __builtin_bit_cast(std::uint32_t, x); }
float float_of(std::uint32_t u) { return __builtin_bit_cast(float, u); }

bool is_nan16(std::uint16_t h) { return (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0; }

// float16 decoded by arithmetic: (-1)^s * 2^(e-15) * (1 + m/1024), or 2^-14 * m/1024 for e = 0.
double reference_float16(std::uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  double magnitude;
  if (exponent == 31) magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN() : INFINITY;
  else if (exponent == 0) magnitude = std::ldexp(double(mantissa), -24);
  else magnitude = std::ldexp(1.0 + mantissa / 1024.0, exponent - 15);
  return sign ? -magnitude : magnitude;
}

#if defined(__x86_64__)
[[gnu::target("f16c")]] std::uint16_t hardware_float_to_half(float x) {
  return std::uint16_t(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT));
}
[[gnu::target("f16c")]] float hardware_half_to_float(std::uint16_t h) { return _cvtsh_ss(h); }
bool has_f16c() { return __builtin_cpu_supports("f16c"); }
#else
bool has_f16c() { return false; }
std::uint16_t hardware_float_to_half(float) { return 0; }
float hardware_half_to_float(std::uint16_t) { return 0; }
#endif

}  // namespace

TEST(Float16, EveryBitPatternDecodesAsTheArithmeticReference) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float x = float16_bits_to_float(std::uint16_t(h));
    const double want = reference_float16(std::uint16_t(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(x)) << h;
      ASSERT_EQ(bits_of(x) >> 31, h >> 15) << "sign of NaN " << h;
      ASSERT_EQ((bits_of(x) >> 13) & 0x3FFu, (h & 0x3FFu) | 0x200u) << "payload of NaN " << h;  // quieted
    } else {
      ASSERT_EQ(double(x), want) << h;
      ASSERT_EQ(std::signbit(x), bool(h >> 15)) << h;
    }
    if (has_f16c()) {
      ASSERT_EQ(bits_of(x), bits_of(hardware_half_to_float(std::uint16_t(h)))) << h;
    }
  }
}

TEST(Float16, EveryValueRoundTripsAndEveryMidpointTiesToEven) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto bits = std::uint16_t(h);
    const float x = float16_bits_to_float(bits);
    if (is_nan16(bits)) {
      EXPECT_EQ(float_to_float16_bits(x), bits | 0x200u) << h;  // quieted, payload and sign kept
      continue;
    }
    ASSERT_EQ(float_to_float16_bits(x), bits) << h;
    if ((bits & 0x7FFFu) >= 0x7BFFu) continue;  // the largest finite value and Inf have no next value here
    // The midpoint to the next value away from zero (exact in float32), and one float32 ulp either side.
    const std::uint16_t next = std::uint16_t(bits + 1);
    const double mid = (double(x) + double(float16_bits_to_float(next))) / 2;
    const float midpoint = float(mid);
    ASSERT_EQ(double(midpoint), mid) << h;
    const std::uint16_t even = (bits & 1u) ? next : bits;
    ASSERT_EQ(float_to_float16_bits(midpoint), even) << "midpoint after " << h;
    const float below = std::nextafter(midpoint, 0.0f), above = std::nextafter(midpoint, midpoint * 2);
    ASSERT_EQ(float_to_float16_bits(below), bits) << "below the midpoint after " << h;
    ASSERT_EQ(float_to_float16_bits(above), next) << "above the midpoint after " << h;
  }
}

TEST(Float16, OverflowUnderflowAndSpecialValues) {
  EXPECT_EQ(float_to_float16_bits(65504.0f), 0x7BFFu);
  EXPECT_EQ(float_to_float16_bits(65519.996f), 0x7BFFu);
  EXPECT_EQ(float_to_float16_bits(65520.0f), 0x7C00u);  // the midpoint to 2^16 ties up to Inf
  EXPECT_EQ(float_to_float16_bits(1e10f), 0x7C00u);
  EXPECT_EQ(float_to_float16_bits(-INFINITY), 0xFC00u);
  EXPECT_EQ(float_to_float16_bits(-0.0f), 0x8000u);
  EXPECT_EQ(float_to_float16_bits(std::ldexp(1.0f, -24)), 0x0001u);  // the smallest subnormal
  EXPECT_EQ(float_to_float16_bits(std::ldexp(1.0f, -25)), 0x0000u);  // half of it ties to zero (even)
  EXPECT_EQ(float_to_float16_bits(std::ldexp(1.5f, -25)), 0x0001u);
  EXPECT_EQ(float_to_float16_bits(std::ldexp(1.0f, -14)), 0x0400u);  // the smallest normal
  EXPECT_EQ(float_to_float16_bits(std::numeric_limits<float>::denorm_min()), 0x0000u);
  EXPECT_TRUE(is_nan16(float_to_float16_bits(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(is_nan16(float_to_float16_bits(std::numeric_limits<float>::signaling_NaN())));
}

TEST(Float16, AgreesWithTheCpuOnSampledFloats) {
  if (!has_f16c()) GTEST_SKIP() << "this CPU has no F16C instructions to compare against";
  // Every float whose low 13 bits are one of a few patterns (ties, just above and below), over all signs
  // and exponents, and a stride through the rest: 4.7 million values.
  for (std::uint64_t u = 0; u < (std::uint64_t(1) << 32); u += 911) {
    const float x = float_of(std::uint32_t(u));
    ASSERT_EQ(float_to_float16_bits(x), hardware_float_to_half(x)) << std::hex << u;
  }
  for (std::uint32_t high = 0; high < (1u << 19); ++high)
    for (std::uint32_t low : {0x0000u, 0x0FFFu, 0x1000u, 0x1001u, 0x1FFFu}) {
      const float x = float_of((high << 13) | low);
      ASSERT_EQ(float_to_float16_bits(x), hardware_float_to_half(x)) << std::hex << ((high << 13) | low);
    }
}

TEST(BFloat16, EveryBitPatternIsTheTopHalfOfAFloat) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float x = bfloat16_bits_to_float(std::uint16_t(b));
    ASSERT_EQ(bits_of(x), b << 16);
    if (std::isnan(x)) {
      ASSERT_EQ(float_to_bfloat16_bits(x), b | 0x40u) << b;  // quieted
      continue;
    }
    ASSERT_EQ(float_to_bfloat16_bits(x), b) << b;
    if ((b & 0x7FFFu) >= 0x7F7Fu) continue;  // the largest finite value and Inf
    // The midpoint to the next value away from zero is b's bits with 0x8000 below them: ties to even.
    const std::uint16_t next = std::uint16_t(b + 1), even = (b & 1u) ? next : std::uint16_t(b);
    ASSERT_EQ(float_to_bfloat16_bits(float_of((b << 16) | 0x8000u)), even) << b;
    ASSERT_EQ(float_to_bfloat16_bits(float_of((b << 16) | 0x7FFFu)), b) << b;
    ASSERT_EQ(float_to_bfloat16_bits(float_of((b << 16) | 0x8001u)), next) << b;
  }
  EXPECT_EQ(float_to_bfloat16_bits(std::numeric_limits<float>::max()), 0x7F80u);  // rounds up to Inf
  EXPECT_EQ(float_to_bfloat16_bits(-INFINITY), 0xFF80u);
  EXPECT_EQ(float_to_bfloat16_bits(std::numeric_limits<float>::denorm_min()), 0x0000u);
}

TEST(HalfTensors, ToConvertsEitherWayAndPrints) {
  const Tensor x = from_vector<float>({1.0f, 1.00390625f, -2.5f, 70000.0f, 1e-8f}, Shape{5});
  const Tensor b = x.to(DType::BFloat16);
  const Tensor h = x.to(DType::Float16);
  EXPECT_EQ(b.dtype(), DType::BFloat16);
  EXPECT_EQ(h.dtype(), DType::Float16);
  EXPECT_EQ(b.storage()->nbytes(), 10u);
  const auto back_b = b.to_vector<float>();
  const auto back_h = h.to_vector<float>();
  EXPECT_EQ(back_b[1], 1.0f);  // 1 + 2^-8 is a tie in bfloat16: to even
  EXPECT_EQ(back_h[1], 1.00390625f);  // exact in float16
  EXPECT_EQ(back_b[2], -2.5f);
  EXPECT_TRUE(std::isinf(back_h[3]));  // past float16's range
  EXPECT_EQ(back_b[3], 70144.0f);
  EXPECT_EQ(back_h[4], 0.0f);  // below half of float16's smallest subnormal
  EXPECT_EQ(h.to(DType::BFloat16).to_vector<float>()[2], -2.5f);
  EXPECT_NE(b.to_string().find("dtype=bfloat16, [1, 1, -2.5, 70144, 1.00117e-08]"), std::string::npos) << b.to_string();
  EXPECT_NE(h.to_string().find("dtype=float16, [1, 1.00391, -2.5, inf, 0"), std::string::npos) << h.to_string();
  EXPECT_EQ(full(Shape{1}, 0.1, DType::Float16).item<double>(), double(float16_bits_to_float(0x2E66)));
  EXPECT_EQ(parse_dtype("bf16"), DType::BFloat16);
  EXPECT_EQ(parse_dtype("half"), DType::Float16);
  EXPECT_EQ(dtype_size(DType::Float16), 2u);
}

TEST(HalfTensors, OpsWithoutALowPrecisionPathSaySo) {
  Generator gen(1);
  try {
    randn(Shape{3}, gen, DType::BFloat16);
    FAIL() << "randn made a bfloat16 tensor";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("randn: expected a float32 or float64 tensor, got bfloat16"), std::string::npos);
  }
  Tensor h = zeros(Shape{2}, DType::Float16);
  EXPECT_THROW(h.set_requires_grad(true), Error);
}
