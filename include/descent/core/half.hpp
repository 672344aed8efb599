#pragma once
// The 16-bit floating types: bfloat16 (8 exponent bits, 7 mantissa bits: float32's range) and IEEE
// binary16 (5 exponent bits, 10 mantissa bits). Both are storage types: arithmetic happens in float32.
// Conversions from float32 round to nearest, ties to even; Inf stays Inf and NaN stays NaN (quieted, its
// sign and top payload bits kept); float16 rounds into its subnormals per IEEE 754, and values from 65520
// up become Inf. A float64 converts through float32, as PyTorch's do.
#include <cstdint>
#include <type_traits>

namespace descent {

constexpr float bfloat16_bits_to_float(std::uint16_t bits) { return __builtin_bit_cast(float, std::uint32_t(bits) << 16); }

constexpr std::uint16_t float_to_bfloat16_bits(float x) {
  const std::uint32_t u = __builtin_bit_cast(std::uint32_t, x);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return std::uint16_t((u >> 16) | 0x40u);  // NaN, quieted
  return std::uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);  // ties to even; overflow carries into Inf
}

constexpr float float16_bits_to_float(std::uint16_t bits) {
  const std::uint32_t sign = std::uint32_t(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1Fu, mantissa = bits & 0x3FFu;
  if (exponent == 0x1F)  // Inf, or NaN (quieted, as the CPU's conversion does)
    return __builtin_bit_cast(float, sign | 0x7F800000u | (mantissa << 13) | (mantissa ? 0x400000u : 0u));
  if (exponent != 0) return __builtin_bit_cast(float, sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa * 2^-24, exact in float32.
  const float magnitude = float(mantissa) * (1.0f / 16777216.0f);
  return sign ? -magnitude : magnitude;
}

constexpr std::uint16_t float_to_float16_bits(float x) {
  const std::uint32_t u = __builtin_bit_cast(std::uint32_t, x);
  const std::uint16_t sign = std::uint16_t((u >> 16) & 0x8000u);
  const std::uint32_t magnitude = u & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return std::uint16_t(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));  // NaN
  if (magnitude >= 0x47800000u) return std::uint16_t(sign | 0x7C00u);  // >= 2^16 (and Inf): Inf
  const std::uint32_t biased = magnitude >> 23;
  const std::uint32_t mantissa = (magnitude & 0x7FFFFFu) | (biased ? 0x800000u : 0u);
  // The result is mantissa * 2^(biased - 150) in units of float16's subnormal step 2^-24 when small, or of
  // the value's own step otherwise: keep 11 significant bits (fewer below 2^-14), round the rest away.
  const std::uint32_t shift = biased >= 113 ? 13 : 126 - biased;  // 113: 2^-14, the smallest normal
  if (shift > 24) return sign;  // below 2^-25: rounds to zero
  std::uint32_t kept = mantissa >> shift;
  const std::uint32_t rest = mantissa & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (kept & 1u))) ++kept;
  if (biased >= 113) return std::uint16_t(sign | (((biased - 112) << 10) + kept - 0x400u));  // carries into exponent
  return std::uint16_t(sign | kept);  // a subnormal, or 0x400 (the smallest normal) after rounding up
}

// A bfloat16 value: its bits, converted explicitly to and from float.
struct BFloat16 {
  std::uint16_t bits;  // uninitialised by default (a trivial type, copied as raw memory); BFloat16{} is zero
  BFloat16() = default;
  constexpr explicit BFloat16(float x) : bits(float_to_bfloat16_bits(x)) {}
  static constexpr BFloat16 from_bits(std::uint16_t b) {
    BFloat16 out;
    out.bits = b;
    return out;
  }
  constexpr explicit operator float() const { return bfloat16_bits_to_float(bits); }
};

// An IEEE binary16 value.
struct Float16 {
  std::uint16_t bits;   // as BFloat16's
  Float16() = default;
  constexpr explicit Float16(float x) : bits(float_to_float16_bits(x)) {}
  static constexpr Float16 from_bits(std::uint16_t b) {
    Float16 out;
    out.bits = b;
    return out;
  }
  constexpr explicit operator float() const { return float16_bits_to_float(bits); }
};

template <class T>
inline constexpr bool is_half_v = std::is_same_v<T, BFloat16> || std::is_same_v<T, Float16>;

// Converts between any two element types (float, double, int64, BFloat16, Float16); a 16-bit float
// goes through float32.
template <class To, class From>
constexpr To convert_element(From x) {
  if constexpr (std::is_same_v<To, From>) {
    return x;
  } else if constexpr (is_half_v<From>) {
    return convert_element<To>(static_cast<float>(x));
  } else if constexpr (is_half_v<To>) {
    return To(static_cast<float>(x));
  } else {
    return static_cast<To>(x);
  }
}

}  // namespace descent
