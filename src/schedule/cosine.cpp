#include "descent/schedule/cosine.hpp"

#include <cmath>
#include <numbers>

#include "check.hpp"

namespace descent::schedule {

using detail::require;

namespace {
double cosine_between(double high, double low, double position, double period) {
  return low + (high - low) * (1.0 + std::cos(std::numbers::pi * position / period)) / 2.0;
}
}  // namespace

CosineAnnealingLR::CosineAnnealingLR(std::int64_t T_max, double eta_min) : T_max_(T_max), eta_min_(eta_min) {
  require(T_max >= 1, name(), "T_max", T_max, "an integer >= 1");
  require(std::isfinite(eta_min) && eta_min >= 0.0, name(), "eta_min", eta_min, "a finite number >= 0");
}

double CosineAnnealingLR::compute(std::int64_t step, double base) const {
  return cosine_between(base, eta_min_, static_cast<double>(step), static_cast<double>(T_max_));
}

double CosineAnnealingLR::chained(std::int64_t step, double current, double base) const {
  if (step == 0) return current;
  const double period = static_cast<double>(T_max_);
  if ((step - 1 - T_max_) % (2 * T_max_) == 0)  // the bottom of the curve, where the ratio below is 0/0
    return current + (base - eta_min_) * (1.0 - std::cos(std::numbers::pi / period)) / 2.0;
  return (1.0 + std::cos(std::numbers::pi * double(step) / period)) /
             (1.0 + std::cos(std::numbers::pi * double(step - 1) / period)) * (current - eta_min_) +
         eta_min_;
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(std::int64_t T_0, std::int64_t T_mult, double eta_min)
    : T_0_(T_0), T_mult_(T_mult), eta_min_(eta_min) {
  require(T_0 >= 1, name(), "T_0", T_0, "an integer >= 1");
  require(T_mult >= 1, name(), "T_mult", T_mult, "an integer >= 1");
  require(std::isfinite(eta_min) && eta_min >= 0.0, name(), "eta_min", eta_min, "a finite number >= 0");
}

double CosineAnnealingWarmRestarts::compute(std::int64_t step, double base) const {
  std::int64_t position = step;  // PyTorch's T_cur
  std::int64_t period = T_0_;    // PyTorch's T_i
  if (T_mult_ == 1) {
    position = step % T_0_;
  } else {
    while (position >= period) {  // at most log_T_mult(step) rounds
      position -= period;
      period *= T_mult_;
    }
  }
  return cosine_between(base, eta_min_, static_cast<double>(position), static_cast<double>(period));
}

}  // namespace descent::schedule
