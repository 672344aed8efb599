#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "descent/core/half.hpp"

namespace descent {

// Float32, Float64 and Int64 compute; BFloat16 and Float16 are storage dtypes (converted to float32 for
// arithmetic, include/descent/core/half.hpp), which the ops that have no low-precision path refuse.
enum class DType : std::uint8_t { Float32, Float64, Int64, BFloat16, Float16 };

constexpr std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::BFloat16: return 2;
    case DType::Float16: return 2;
  }
  return 0;
}

constexpr const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::BFloat16: return "bfloat16";
    case DType::Float16: return "float16";
  }
  return "?";
}

// The dtypes arithmetic runs in (and gradients flow through).
constexpr bool is_floating(DType dtype) { return dtype == DType::Float32 || dtype == DType::Float64; }
constexpr bool is_low_precision(DType dtype) { return dtype == DType::BFloat16 || dtype == DType::Float16; }

// Parses "float32", "float64", "int64", "bfloat16", "float16" (and the aliases "float", "double", "long",
// "bf16", "half", "fp16").
DType parse_dtype(const std::string& name);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::Float32; }
template <>
constexpr DType dtype_of<double>() { return DType::Float64; }
template <>
constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }
template <>
constexpr DType dtype_of<BFloat16>() { return DType::BFloat16; }
template <>
constexpr DType dtype_of<Float16>() { return DType::Float16; }

// Calls fn(T{}) with T the C++ type of a floating dtype; throws for other dtypes.
template <class Fn>
decltype(auto) dispatch_floating(DType dtype, const char* op, Fn&& fn);

}  // namespace descent

#include "descent/core/error.hpp"

namespace descent {
template <class Fn>
decltype(auto) dispatch_floating(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    default: break;
  }
  throw Error(detail::concat(op, ": expected a float32 or float64 tensor, got ", dtype_name(dtype)));
}
}  // namespace descent
