#include "descent/core/convert.hpp"

#include <cstring>

#include "descent/core/parallel.hpp"
#include "descent/core/simd.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define DESCENT_HAVE_F16C_PATH 1
#endif

namespace descent {

namespace {

constexpr std::int64_t kGrain = 1 << 16;

// The branch-free form of float_to_bfloat16_bits, which the compiler vectorises.
DESCENT_MULTIVERSION
void to_bfloat16_block(const float* DESCENT_RESTRICT src, std::uint16_t* DESCENT_RESTRICT dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint32_t u;
    std::memcpy(&u, src + i, 4);
    const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const std::uint32_t quiet = (u >> 16) | 0x40u;
    dst[i] = std::uint16_t((u & 0x7FFFFFFFu) > 0x7F800000u ? quiet : rounded);
  }
}

DESCENT_MULTIVERSION
void from_bfloat16_block(const std::uint16_t* DESCENT_RESTRICT src, float* DESCENT_RESTRICT dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint32_t u = std::uint32_t(src[i]) << 16;
    std::memcpy(dst + i, &u, 4);
  }
}

#ifdef DESCENT_HAVE_F16C_PATH
bool have_f16c() {
  static const bool yes = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;  // CPUID leaf 1: ECX bit 29 is F16C (not every compiler
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;  // knows "f16c" as a feature name)
    return (ecx & bit_F16C) != 0 && __builtin_cpu_supports("avx");
  }();
  return yes;
}

__attribute__((target("avx,f16c"))) std::int64_t to_float16_f16c(const float* src, Float16* dst, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  return i;
}

__attribute__((target("avx,f16c"))) std::int64_t from_float16_f16c(const Float16* src, float* dst, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  return i;
}
#endif

void to_float16_block(const float* src, Float16* dst, std::int64_t n) {
  std::int64_t i = 0;
#ifdef DESCENT_HAVE_F16C_PATH
  if (have_f16c()) i = to_float16_f16c(src, dst, n);
#endif
  for (; i < n; ++i) dst[i] = Float16(src[i]);
}

void from_float16_block(const Float16* src, float* dst, std::int64_t n) {
  std::int64_t i = 0;
#ifdef DESCENT_HAVE_F16C_PATH
  if (have_f16c()) i = from_float16_f16c(src, dst, n);
#endif
  for (; i < n; ++i) dst[i] = float(src[i]);
}

template <class F>
void blocks(std::int64_t n, F f) {
  if (n < kGrain) {
    f(0, n);
    return;
  }
  parallel_for(0, n, kGrain, f);
}

}  // namespace

void convert(const float* src, BFloat16* dst, std::int64_t n) {
  blocks(n, [&](std::int64_t lo, std::int64_t hi) {
    to_bfloat16_block(src + lo, reinterpret_cast<std::uint16_t*>(dst + lo), hi - lo);
  });
}

void convert(const BFloat16* src, float* dst, std::int64_t n) {
  blocks(n, [&](std::int64_t lo, std::int64_t hi) {
    from_bfloat16_block(reinterpret_cast<const std::uint16_t*>(src + lo), dst + lo, hi - lo);
  });
}

void convert(const float* src, Float16* dst, std::int64_t n) {
  blocks(n, [&](std::int64_t lo, std::int64_t hi) { to_float16_block(src + lo, dst + lo, hi - lo); });
}

void convert(const Float16* src, float* dst, std::int64_t n) {
  blocks(n, [&](std::int64_t lo, std::int64_t hi) { from_float16_block(src + lo, dst + lo, hi - lo); });
}

}  // namespace descent
