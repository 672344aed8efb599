#include "descent/schedule/warmup.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "check.hpp"

namespace descent::schedule {

using detail::require;

namespace {
void require_factor(double factor, const std::string& schedule, const char* option) {
  require(factor >= 0.0 && factor <= 1.0, schedule, option, factor, "a number in [0, 1]");
}
}  // namespace

double warmup_factor(std::int64_t step, std::int64_t warmup_steps, double start_factor) {
  return start_factor + (1.0 - start_factor) * static_cast<double>(step) / static_cast<double>(warmup_steps);
}

WarmupCosine::WarmupCosine(std::int64_t warmup_steps, std::int64_t total_steps, double start_factor,
                           double end_factor, double exponent)
    : warmup_steps_(warmup_steps), total_steps_(total_steps), start_factor_(start_factor),
      end_factor_(end_factor), exponent_(exponent) {
  require(warmup_steps >= 0, name(), "warmup_steps", warmup_steps, "an integer >= 0");
  require(total_steps > warmup_steps, name(), "total_steps", total_steps,
          "an integer > warmup_steps = " + std::to_string(warmup_steps));
  require_factor(start_factor, name(), "start_factor");
  require_factor(end_factor, name(), "end_factor");
  require(exponent > 0.0, name(), "exponent", exponent, "a number > 0");
}

double WarmupCosine::compute(std::int64_t step, double base) const {
  if (step < warmup_steps_) return base * warmup_factor(step, warmup_steps_, start_factor_);
  const auto decay_steps = total_steps_ - warmup_steps_;
  const double progress =
      static_cast<double>(std::min(step - warmup_steps_, decay_steps)) / static_cast<double>(decay_steps);
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return base * ((1.0 - end_factor_) * std::pow(cosine, exponent_) + end_factor_);
}

WarmupLinear::WarmupLinear(std::int64_t warmup_steps, std::int64_t total_steps, double start_factor,
                           double end_factor)
    : warmup_steps_(warmup_steps), total_steps_(total_steps), start_factor_(start_factor), end_factor_(end_factor) {
  require(warmup_steps >= 0, name(), "warmup_steps", warmup_steps, "an integer >= 0");
  require(total_steps > warmup_steps, name(), "total_steps", total_steps,
          "an integer > warmup_steps = " + std::to_string(warmup_steps));
  require_factor(start_factor, name(), "start_factor");
  require_factor(end_factor, name(), "end_factor");
}

double WarmupLinear::compute(std::int64_t step, double base) const {
  if (step < warmup_steps_) return base * warmup_factor(step, warmup_steps_, start_factor_);
  const auto decay_steps = total_steps_ - warmup_steps_;
  const double progress =
      static_cast<double>(std::min(step - warmup_steps_, decay_steps)) / static_cast<double>(decay_steps);
  return base * (1.0 + (end_factor_ - 1.0) * progress);
}

InverseSqrt::InverseSqrt(std::int64_t warmup_steps, std::int64_t timescale)
    : warmup_steps_(warmup_steps), timescale_(timescale) {
  require(warmup_steps >= 0, name(), "warmup_steps", warmup_steps, "an integer >= 0");
  require(timescale >= 0, name(), "timescale", timescale, "an integer >= 1 (0 or absent: warmup_steps, or 10000)");
  if (timescale_ == 0) timescale_ = warmup_steps > 0 ? warmup_steps : 10000;
}

double InverseSqrt::compute(std::int64_t step, double base) const {
  if (step < warmup_steps_) return base * static_cast<double>(step) / static_cast<double>(warmup_steps_);
  const double shifted = static_cast<double>(step + timescale_ - warmup_steps_);
  return base * (1.0 / std::sqrt(shifted / static_cast<double>(timescale_)));
}

WarmupStableDecay::WarmupStableDecay(WarmupStableDecayOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  require(o.warmup_steps >= 0, name(), "warmup_steps", o.warmup_steps, "an integer >= 0");
  require(o.stable_steps >= 0, name(), "stable_steps", o.stable_steps, "an integer >= 0");
  require(o.decay_steps >= 1, name(), "decay_steps", o.decay_steps, "an integer >= 1");
  require_factor(o.start_factor, name(), "start_factor");
  require_factor(o.end_factor, name(), "end_factor");
  require(o.decay_type == "linear" || o.decay_type == "cosine" || o.decay_type == "1-sqrt", name(), "decay_type",
          o.decay_type, "\"linear\", \"cosine\" or \"1-sqrt\"");
}

double WarmupStableDecay::compute(std::int64_t step, double base) const {
  const auto& o = options_;
  if (step < o.warmup_steps) return base * warmup_factor(step, o.warmup_steps, o.start_factor);
  const auto decay_start = o.warmup_steps + o.stable_steps;
  if (step < decay_start) return base;
  if (step >= decay_start + o.decay_steps) return base * o.end_factor;
  const double progress = static_cast<double>(step - decay_start) / static_cast<double>(o.decay_steps);
  double shape;
  if (o.decay_type == "linear") {
    shape = 1.0 - progress;
  } else if (o.decay_type == "cosine") {
    shape = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  } else {
    shape = 1.0 - std::sqrt(progress);
  }
  return base * ((1.0 - o.end_factor) * shape + o.end_factor);
}

}  // namespace descent::schedule
