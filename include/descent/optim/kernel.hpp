#pragma once
// The two traversals every update rule runs through, written once:
//   * the reference path: a plain single-threaded scalar loop, the ground truth;
//   * the fast path: parallel_for over the segment, each chunk an explicitly vectorised loop (GCC vector
//     extensions), then a scalar tail: 64-byte vectors on processors with AVX-512 (vector_loop_avx512),
//     else 32-byte vectors compiled for the baseline and AVX2 (DESCENT_OPTIM_MULTIVERSION).
// Both call the same per-element rule, `Rule::apply(step, param, grad, state...)`, a template over the
// value type V (a scalar T or a vector of T). Why explicit vectors and not auto-vectorisation: with the
// default -fmath-errno GCC will not vectorise a loop that calls sqrt, and almost every rule does.
//
// A rule is a struct with
//   template <class T> struct Step { ... };            per-step scalars, computed once on the host
//   static constexpr std::array<const char*, K> buffers; names of its state buffers, in argument order
//   template <class V, class T> DESCENT_RULE static void apply(const Step<T>&, V& param, V grad, V&... state);
// Everything a rule calls must be DESCENT_RULE (always_inline): GCC does not inline ordinary functions
// into a clone compiled for another -march, and a call in the loop would stop vectorisation.
#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "descent/core/half.hpp"
#include "descent/core/parallel.hpp"
#include "descent/core/simd.hpp"

#define DESCENT_RULE [[gnu::always_inline]] inline

// The optimizer kernels are cloned by instruction-set feature, not by -march name: GCC resolves an
// "arch=haswell" clone with __builtin_cpu_is("haswell"), which is false on every AMD processor, so
// DESCENT_MULTIVERSION (core/simd.hpp) runs the baseline clone there (measured on this project's AMD EPYC
// machines). Feature clones are resolved with __builtin_cpu_supports and work on any vendor. No FMA
// contraction anywhere (the layer is compiled with -ffp-contract=off): a*b+c rounds the same in the vector
// loops and in the scalar reference loop, so the paths stay bitwise equal (and close to PyTorch's unfused
// arithmetic).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(DESCENT_NO_MULTIVERSION)
#define DESCENT_OPTIM_MULTIVERSION __attribute__((target_clones("default", "avx2")))
// The 64-byte loops. Division and square root are what bound the arithmetic-heavy rules (NAdam, RAdam,
// AdaBelief, ...), and a processor with a full-width AVX-512 unit does sixteen of them per instruction
// where AVX2 does eight (measured on this project's machine: the Adam rule at 0.17 ns per element against
// 0.32 with 32-byte vectors, in cache). Square roots of 64-byte vectors are written per lane and
// vectorised by the compiler, which needs -fno-math-errno (also set for the layer).
#define DESCENT_OPTIM_AVX512 1
#define DESCENT_OPTIM_AVX512_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
#else
#define DESCENT_OPTIM_MULTIVERSION
#define DESCENT_OPTIM_AVX512 0
#define DESCENT_OPTIM_AVX512_TARGET
#endif

// Rules and helpers pass 32-byte vectors by value; they are always inlined, so the ABI note GCC gives for
// baseline x86-64 builds does not apply. GCC reports it for template instantiations at the end of the
// translation unit, so each source file that runs a rule also starts with
//   #pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace descent::optim {

// How moment buffers are stored: in the parameter's dtype, or as bfloat16 (computed in float32, rounded to
// nearest even on store) to halve state memory.
enum class StateDType : std::uint8_t { Native, BFloat16 };

using descent::BFloat16;  // the storage type of include/descent/core/half.hpp

template <class T>
using Vec [[gnu::vector_size(32)]] = T;
template <class T>
using Vec64 [[gnu::vector_size(64)]] = T;

// The 32-byte halves of a 64-byte vector, and back.
DESCENT_RULE Vec<float> low_half(Vec64<float> v) { return __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7); }
DESCENT_RULE Vec<float> high_half(Vec64<float> v) {
  return __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
}
DESCENT_RULE Vec64<float> join_halves(Vec<float> lo, Vec<float> hi) {
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
DESCENT_RULE Vec<double> low_half(Vec64<double> v) { return __builtin_shufflevector(v, v, 0, 1, 2, 3); }
DESCENT_RULE Vec<double> high_half(Vec64<double> v) { return __builtin_shufflevector(v, v, 4, 5, 6, 7); }
DESCENT_RULE Vec64<double> join_halves(Vec<double> lo, Vec<double> hi) {
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
}
using VecU32x8 [[gnu::vector_size(32)]] = std::uint32_t;
using VecU32x4 [[gnu::vector_size(16)]] = std::uint32_t;
using VecU16x8 [[gnu::vector_size(16)]] = std::uint16_t;
using VecU16x4 [[gnu::vector_size(8)]] = std::uint16_t;
using VecF4 [[gnu::vector_size(16)]] = float;

// ---- math helpers shared by the rules; each works for scalars and vectors alike
DESCENT_RULE float root(float x) { return __builtin_sqrtf(x); }
DESCENT_RULE double root(double x) { return __builtin_sqrt(x); }
DESCENT_RULE Vec<float> root(Vec<float> x) {
#if defined(__x86_64__)
  // SSE's sqrtps exists on every x86-64 (the AVX form does not), and each clone widens what it can.
  const auto lo = __builtin_ia32_sqrtps(__builtin_shufflevector(x, x, 0, 1, 2, 3));
  const auto hi = __builtin_ia32_sqrtps(__builtin_shufflevector(x, x, 4, 5, 6, 7));
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
#else
  for (int i = 0; i < 8; ++i) x[i] = __builtin_sqrtf(x[i]);
  return x;
#endif
}
DESCENT_RULE Vec<double> root(Vec<double> x) {
#if defined(__x86_64__)
  const auto lo = __builtin_ia32_sqrtpd(__builtin_shufflevector(x, x, 0, 1));
  const auto hi = __builtin_ia32_sqrtpd(__builtin_shufflevector(x, x, 2, 3));
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3);
#else
  for (int i = 0; i < 4; ++i) x[i] = __builtin_sqrt(x[i]);
  return x;
#endif
}
// Per lane: compiled inside a 64-byte loop (AVX-512 target, -fno-math-errno) this is one vsqrtps/vsqrtpd.
DESCENT_RULE Vec64<float> root(Vec64<float> x) {
  for (int i = 0; i < 16; ++i) x[i] = __builtin_sqrtf(x[i]);
  return x;
}
DESCENT_RULE Vec64<double> root(Vec64<double> x) {
  for (int i = 0; i < 8; ++i) x[i] = __builtin_sqrt(x[i]);
  return x;
}
// mask ? a : b, lane-wise for vectors (mask from a comparison). Written with bitwise operations because
// GCC lowers a vector ?: to scalar branches when the target has no blend instruction (baseline x86-64).
template <class V, class Mask>
DESCENT_RULE V select(Mask mask, V a, V b) {
  if constexpr (std::is_arithmetic_v<V>) {
    return mask ? a : b;
  } else {
    const Mask bits_a = __builtin_bit_cast(Mask, a), bits_b = __builtin_bit_cast(Mask, b);
    return __builtin_bit_cast(V, (mask & bits_a) | (~mask & bits_b));
  }
}
// torch.maximum / torch.minimum: NaN in either argument gives NaN.
template <class V>
DESCENT_RULE V maximum(V a, V b) {
  return select((a > b) | (a != a), a, b);
}
template <class V>
DESCENT_RULE V minimum(V a, V b) {
  return select((a < b) | (a != a), a, b);
}
template <class V>
DESCENT_RULE V absolute(V x) {
  return select(x < V{}, -x, x);
}
// sign(x) with sign(0) = 0 and sign(NaN) = NaN, as jnp.sign (the Optax rules, Lion and Yogi, use it);
// torch.sign(NaN) is 0 instead, which Rprop spells out itself.
template <class V>
DESCENT_RULE V sign_of(V x) {
  const V one = V{} + 1;
  if constexpr (std::is_arithmetic_v<V>) {
    return x > 0 ? one : (x < 0 ? -one : x);
  } else {
    using Mask = decltype(x > x);
    const Mask positive = x > V{}, negative = x < V{};
    const Mask bits = (positive & __builtin_bit_cast(Mask, one)) | (negative & __builtin_bit_cast(Mask, -one)) |
                      (~(positive | negative) & __builtin_bit_cast(Mask, x));
    return __builtin_bit_cast(V, bits);
  }
}
// The same on 64-byte vectors, one 32-byte half at a time. A rule's body is compiled for the baseline
// before it is inlined into the AVX-512 loop, so a 64-byte comparison is typed as a baseline vector mask;
// GCC 12 then runs any such comparison that feeds further mask logic lane by lane in scalar code (measured:
// Rprop 3x slower than with 32-byte vectors). Comparisons of 32-byte halves compile to vcmpps.
#define DESCENT_BY_HALVES(name)                                                        \
  DESCENT_RULE Vec64<float> name(Vec64<float> a, Vec64<float> b) {                    \
    return join_halves(name(low_half(a), low_half(b)), name(high_half(a), high_half(b))); \
  }                                                                                    \
  DESCENT_RULE Vec64<double> name(Vec64<double> a, Vec64<double> b) {                 \
    return join_halves(name(low_half(a), low_half(b)), name(high_half(a), high_half(b))); \
  }
DESCENT_BY_HALVES(maximum)
DESCENT_BY_HALVES(minimum)
#undef DESCENT_BY_HALVES
DESCENT_RULE Vec64<float> absolute(Vec64<float> x) {
  return join_halves(absolute(low_half(x)), absolute(high_half(x)));
}
DESCENT_RULE Vec64<double> absolute(Vec64<double> x) {
  return join_halves(absolute(low_half(x)), absolute(high_half(x)));
}
DESCENT_RULE Vec64<float> sign_of(Vec64<float> x) {
  return join_halves(sign_of(low_half(x)), sign_of(high_half(x)));
}
DESCENT_RULE Vec64<double> sign_of(Vec64<double> x) {
  return join_halves(sign_of(low_half(x)), sign_of(high_half(x)));
}
// torch.lerp(start, end, weight) with PyTorch's two formulas (exact at both ends).
template <class V, class T>
DESCENT_RULE V lerp(V start, V end, T weight) {
  return weight < T(0.5) ? start + weight * (end - start) : end - (end - start) * (T(1) - weight);
}
// The gradient as most rules first see it: scaled (and negated for maximize) by `multiplier`, plus L2
// weight decay when `weight_decay` is not zero (PyTorch skips the term then, which matters for inf params).
template <class V, class T>
DESCENT_RULE V l2_gradient(V grad, V param, T multiplier, T weight_decay) {
  const V g = grad * multiplier;
  return weight_decay != T(0) ? g + weight_decay * param : g;
}
// x broadcast to V (works for scalars too).
template <class V, class T>
DESCENT_RULE V splat(T x) {
  return V{} + x;
}

// ---- bfloat16 conversions (round to nearest even; NaN stays NaN), as descent/core/half.hpp's, inlined
// into the rules' loops
DESCENT_RULE float bf16_to_float(BFloat16 x) { return __builtin_bit_cast(float, std::uint32_t(x.bits) << 16); }
DESCENT_RULE BFloat16 float_to_bf16(float x) {
  const std::uint32_t u = __builtin_bit_cast(std::uint32_t, x);
  const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  return BFloat16::from_bits(std::uint16_t(x != x ? (u >> 16) | 0x40u : rounded));
}
// Conversions by lane shuffles (an unpack and a pack of 16-bit halves), which every x86-64 has.
using VecU16x16 [[gnu::vector_size(32)]] = std::uint16_t;
DESCENT_RULE Vec<float> bf16x8_to_float(VecU16x8 x) {
  const VecU16x8 zero{};
  return __builtin_bit_cast(Vec<float>, __builtin_shufflevector(zero, x, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13,
                                                                6, 14, 7, 15));
}
DESCENT_RULE VecU16x8 float_to_bf16x8(Vec<float> x) {
  const VecU32x8 u = __builtin_bit_cast(VecU32x8, x);
  const VecU32x8 rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const VecU32x8 quiet = (u >> 16) | 0x40u;
  const VecU32x8 nan = __builtin_bit_cast(VecU32x8, x != x);
  const auto halves = __builtin_bit_cast(VecU16x16, (nan & quiet) | (~nan & rounded));
  return __builtin_shufflevector(halves, halves, 0, 2, 4, 6, 8, 10, 12, 14);
}

// ---- loading and storing one lane (Scalar) or one vector (Wide) of parameters, gradients and state
template <class T>
struct ScalarLanes {
  using V = T;
  static constexpr std::int64_t width = 1;
  DESCENT_RULE static V load(const T* p) { return *p; }
  DESCENT_RULE static void store(T* p, V v) { *p = v; }
  DESCENT_RULE static V load(const BFloat16* p) { return T(bf16_to_float(*p)); }
  DESCENT_RULE static void store(BFloat16* p, V v) { *p = float_to_bf16(float(v)); }
};

template <class T>
struct WideLanes {
  using V = Vec<T>;
  static constexpr std::int64_t width = sizeof(V) / sizeof(T);
  DESCENT_RULE static V load(const T* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  DESCENT_RULE static void store(T* p, V v) { __builtin_memcpy(p, &v, sizeof v); }
  DESCENT_RULE static V load(const BFloat16* p) {
    if constexpr (std::is_same_v<T, float>) {
      VecU16x8 bits;
      __builtin_memcpy(&bits, p, sizeof bits);
      return bf16x8_to_float(bits);
    } else {
      VecU16x4 bits;
      __builtin_memcpy(&bits, p, sizeof bits);
      const VecU32x4 wide = __builtin_convertvector(bits, VecU32x4) << 16;
      return __builtin_convertvector(__builtin_bit_cast(VecF4, wide), V);
    }
  }
  DESCENT_RULE static void store(BFloat16* p, V v) {
    if constexpr (std::is_same_v<T, float>) {
      const VecU16x8 bits = float_to_bf16x8(v);
      __builtin_memcpy(p, &bits, sizeof bits);
    } else {
      for (int i = 0; i < 4; ++i) p[i] = float_to_bf16(float(v[i]));
    }
  }
};

// 64-byte vectors for the AVX-512 loops; bfloat16 state converts as two 32-byte halves.
template <class T>
struct Wide64Lanes {
  using V = Vec64<T>;
  using Half = WideLanes<T>;
  static constexpr std::int64_t width = sizeof(V) / sizeof(T);
  static constexpr std::int64_t half = width / 2;
  DESCENT_RULE static V load(const T* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  DESCENT_RULE static void store(T* p, V v) { __builtin_memcpy(p, &v, sizeof v); }
  DESCENT_RULE static V load(const BFloat16* p) { return join_halves(Half::load(p), Half::load(p + half)); }
  DESCENT_RULE static void store(BFloat16* p, V v) {
    Half::store(p, low_half(v));
    Half::store(p + half, high_half(v));
  }
};

// Whether this processor has what the 64-byte loops need: AVX-512 F, DQ, BW and VL.
bool processor_has_avx512();

// Whether the fast path runs its 64-byte loops: true on processors with AVX-512 F, DQ, BW and VL, unless
// the environment variable DESCENT_OPTIM_VECTOR_BYTES=32 asks for the 32-byte loops (the test suite runs
// its fast-path checks both ways; benchmarks can compare them). Any other value of the variable, or 64 on
// a processor without AVX-512, is an Error naming it.
bool wide_vectors();

// Applies the rule at element i through lanes L (one element or one vector).
template <class L, class Rule, class Step, class T, class S, std::size_t K>
DESCENT_RULE void apply_at(const Step& step, T* param, const T* grad, const std::array<S*, K>& state,
                           std::int64_t i) {
  typename L::V p = L::load(param + i);
  const typename L::V g = L::load(grad + i);
  if constexpr (K == 0) {
    Rule::apply(step, p, g);
  } else if constexpr (K == 1) {
    auto a = L::load(state[0] + i);
    Rule::apply(step, p, g, a);
    L::store(state[0] + i, a);
  } else if constexpr (K == 2) {
    auto a = L::load(state[0] + i), b = L::load(state[1] + i);
    Rule::apply(step, p, g, a, b);
    L::store(state[0] + i, a), L::store(state[1] + i, b);
  } else if constexpr (K == 3) {
    auto a = L::load(state[0] + i), b = L::load(state[1] + i), c = L::load(state[2] + i);
    Rule::apply(step, p, g, a, b, c);
    L::store(state[0] + i, a), L::store(state[1] + i, b), L::store(state[2] + i, c);
  } else {
    static_assert(K == 4, "rules keep at most four state buffers");
    auto a = L::load(state[0] + i), b = L::load(state[1] + i), c = L::load(state[2] + i);
    auto d = L::load(state[3] + i);
    Rule::apply(step, p, g, a, b, c, d);
    L::store(state[0] + i, a), L::store(state[1] + i, b), L::store(state[2] + i, c), L::store(state[3] + i, d);
  }
  L::store(param + i, p);
}

// The reference path: one element at a time.
template <class Rule, class Step, class T, class S, std::size_t K>
DESCENT_OPTIM_MULTIVERSION void reference_loop(const Step step, T* param, const T* grad, std::array<S*, K> state,
                                         std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) apply_at<ScalarLanes<T>, Rule>(step, param, grad, state, i);
}

// The fast path's inner loop over one chunk.
template <class Rule, class Step, class T, class S, std::size_t K>
DESCENT_OPTIM_MULTIVERSION void vector_loop(const Step step, T* param, const T* grad, std::array<S*, K> state,
                                      std::int64_t n) {
  constexpr std::int64_t width = WideLanes<T>::width;
  std::int64_t i = 0;
  for (; i + width <= n; i += width) apply_at<WideLanes<T>, Rule>(step, param, grad, state, i);
  for (; i < n; ++i) apply_at<ScalarLanes<T>, Rule>(step, param, grad, state, i);
}

// A rule that compares lanes and combines the masks itself (Rprop) declares
//   static constexpr bool narrow_vectors = true;
// and keeps the 32-byte loops on AVX-512 processors too (see DESCENT_BY_HALVES); such rules are memory
// bound, so they lose nothing by it.
template <class Rule>
inline constexpr bool keeps_narrow_vectors = requires { requires Rule::narrow_vectors; };

#if DESCENT_OPTIM_AVX512
template <class Rule, class Step, class T, class S, std::size_t K>
DESCENT_OPTIM_AVX512_TARGET void vector_loop_avx512(const Step step, T* param, const T* grad,
                                                    std::array<S*, K> state, std::int64_t n) {
  constexpr std::int64_t width = Wide64Lanes<T>::width;
  std::int64_t i = 0;
  for (; i + width <= n; i += width) apply_at<Wide64Lanes<T>, Rule>(step, param, grad, state, i);
  for (; i < n; ++i) apply_at<ScalarLanes<T>, Rule>(step, param, grad, state, i);
}
#endif

// Elements per parallel chunk: large enough that thread hand-off is negligible.
inline constexpr std::int64_t kGrain = 1 << 16;

template <class Rule, class Step, class T, class S, std::size_t K>
void run_pass(const Step& step, T* param, const T* grad, const std::array<S*, K>& state, std::int64_t n,
              bool reference) {
  if (reference) {
    reference_loop<Rule>(step, param, grad, state, n);
    return;
  }
  [[maybe_unused]] const bool wide = wide_vectors();
  parallel_for(0, n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    std::array<S*, K> shifted = state;
    for (auto& buffer : shifted) buffer += begin;
#if DESCENT_OPTIM_AVX512
    if constexpr (!keeps_narrow_vectors<Rule>) {
      if (wide) {
        vector_loop_avx512<Rule>(step, param + begin, grad + begin, shifted, end - begin);
        return;
      }
    }
#endif
    vector_loop<Rule>(step, param + begin, grad + begin, shifted, end - begin);
  });
}

}  // namespace descent::optim

#pragma GCC diagnostic pop
