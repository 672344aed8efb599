#pragma once
// Standard normal helpers shared by TPE and the GP's expected improvement.
#include <cmath>
#include <numbers>

namespace descent::search::detail {

inline double normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi); }
inline double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

// Phi(b) - Phi(a) for a <= b, from the tail nearer to the interval so that far-out intervals keep
// their relative precision instead of cancelling to 0.
inline double normal_mass(double a, double b) {
  if (a >= 0.0) return 0.5 * (std::erfc(a / std::numbers::sqrt2) - std::erfc(b / std::numbers::sqrt2));
  if (b <= 0.0) return 0.5 * (std::erfc(-b / std::numbers::sqrt2) - std::erfc(-a / std::numbers::sqrt2));
  return 1.0 - 0.5 * std::erfc(b / std::numbers::sqrt2) - 0.5 * std::erfc(-a / std::numbers::sqrt2);
}

}  // namespace descent::search::detail
