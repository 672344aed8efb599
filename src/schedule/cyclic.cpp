#include "descent/schedule/cyclic.hpp"

#include <cmath>

#include "check.hpp"

namespace descent::schedule {

using detail::require;

CyclicLR::CyclicLR(CyclicOptions options) : options_(std::move(options)) {
  auto& o = options_;
  require(std::isfinite(o.base_lr) && o.base_lr >= 0.0, name(), "base_lr", o.base_lr, "a finite number >= 0");
  require(std::isfinite(o.max_lr) && o.max_lr >= 0.0, name(), "max_lr", o.max_lr, "a finite number >= 0");
  require(o.step_size_up >= 1, name(), "step_size_up", o.step_size_up, "an integer >= 1");
  if (!o.step_size_down) o.step_size_down = o.step_size_up;
  require(*o.step_size_down >= 0, name(), "step_size_down", *o.step_size_down,
          "an integer >= 0 (absent: equal to step_size_up)");
  if (!o.scale_fn) {
    require(o.mode == "triangular" || o.mode == "triangular2" || o.mode == "exp_range", name(), "mode", o.mode,
            "\"triangular\", \"triangular2\" or \"exp_range\"");
    o.scale_mode = o.mode == "exp_range" ? "iterations" : "cycle";
  }
  require(o.scale_mode == "cycle" || o.scale_mode == "iterations", name(), "scale_mode", o.scale_mode,
          "\"cycle\" or \"iterations\"");
  require(o.gamma > 0.0, name(), "gamma", o.gamma, "a number > 0");
  if (o.cycle_momentum) {
    require(o.base_momentum >= 0.0, name(), "base_momentum", o.base_momentum, "a number >= 0");
    require(o.max_momentum >= 0.0, name(), "max_momentum", o.max_momentum, "a number >= 0");
  }
  total_size_ = static_cast<double>(o.step_size_up + *o.step_size_down);
  step_ratio_ = static_cast<double>(o.step_size_up) / total_size_;
}

CyclicLR::Position CyclicLR::position(std::int64_t step) const {
  const double t = static_cast<double>(step);
  const double cycle = std::floor(1.0 + t / total_size_);
  const double x = 1.0 + t / total_size_ - cycle;
  const double scale = x <= step_ratio_ ? x / step_ratio_ : (x - 1.0) / (step_ratio_ - 1.0);
  const double argument = options_.scale_mode == "cycle" ? cycle : t;
  if (options_.scale_fn) return {scale, options_.scale_fn(argument)};
  if (options_.mode == "triangular") return {scale, 1.0};
  if (options_.mode == "triangular2") return {scale, 1.0 / std::pow(2.0, argument - 1.0)};
  return {scale, std::pow(options_.gamma, argument)};
}

// Same order of operations as PyTorch: height = (max - base) * scale, then times scale_fn.
double CyclicLR::compute(std::int64_t step, double) const {
  const auto [scale, scale_by] = position(step);
  const double height = (options_.max_lr - options_.base_lr) * scale;
  return options_.base_lr + height * scale_by;
}

std::optional<double> CyclicLR::compute_momentum(std::int64_t step) const {
  if (!options_.cycle_momentum) return std::nullopt;
  const auto [scale, scale_by] = position(step);
  const double height = (options_.max_momentum - options_.base_momentum) * scale;
  return options_.max_momentum - height * scale_by;
}

}  // namespace descent::schedule
