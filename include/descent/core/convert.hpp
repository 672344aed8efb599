#pragma once
// Bulk conversions between float32 and the 16-bit floating types, with the rounding of half.hpp
// (round to nearest even, Inf and NaN kept, float16 subnormals per IEEE). Large arrays are split over
// the thread pool; float16 uses the CPU's F16C instructions where it has them (same results).
#include <cstdint>

#include "descent/core/half.hpp"

namespace descent {

void convert(const float* src, BFloat16* dst, std::int64_t n);
void convert(const float* src, Float16* dst, std::int64_t n);
void convert(const BFloat16* src, float* dst, std::int64_t n);
void convert(const Float16* src, float* dst, std::int64_t n);

}  // namespace descent
