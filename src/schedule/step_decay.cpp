#include "descent/schedule/step_decay.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "check.hpp"

namespace descent::schedule {

using detail::require;

StepLR::StepLR(std::int64_t step_size, double gamma) : step_size_(step_size), gamma_(gamma) {
  require(step_size >= 1, name(), "step_size", step_size, "an integer >= 1");
  require(gamma > 0.0, name(), "gamma", gamma, "a number > 0");
}

double StepLR::compute(std::int64_t step, double base) const {
  return base * std::pow(gamma_, static_cast<double>(step / step_size_));
}

double StepLR::chained(std::int64_t step, double current, double) const {
  return step == 0 || step % step_size_ != 0 ? current : current * gamma_;
}

MultiStepLR::MultiStepLR(std::vector<std::int64_t> milestones, double gamma)
    : milestones_(std::move(milestones)), gamma_(gamma) {
  std::ostringstream shown;
  for (std::size_t i = 0; i < milestones_.size(); ++i) shown << (i ? "," : "[") << milestones_[i];
  shown << (milestones_.empty() ? "[]" : "]");
  bool increasing = true;
  for (std::size_t i = 0; i < milestones_.size(); ++i) {
    if (milestones_[i] < 0 || (i > 0 && milestones_[i] <= milestones_[i - 1])) increasing = false;
  }
  require(increasing, name(), "milestones", shown.str(), "strictly increasing steps >= 0");
  require(gamma > 0.0, name(), "gamma", gamma, "a number > 0");
}

double MultiStepLR::compute(std::int64_t step, double base) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), step) - milestones_.begin();
  return base * std::pow(gamma_, static_cast<double>(passed));
}

double MultiStepLR::chained(std::int64_t step, double current, double) const {
  return std::binary_search(milestones_.begin(), milestones_.end(), step) ? current * gamma_ : current;
}

ConstantLR::ConstantLR(double factor, std::int64_t total_iters) : factor_(factor), total_iters_(total_iters) {
  require(factor >= 0.0 && factor <= 1.0, name(), "factor", factor, "a number in [0, 1]");
  require(total_iters >= 0, name(), "total_iters", total_iters, "an integer >= 0");
}

double ConstantLR::compute(std::int64_t step, double base) const {
  return step < total_iters_ || total_iters_ == 0 ? base * factor_ : base;
}

double ConstantLR::restarted(std::int64_t step, double base) const {
  return step < total_iters_ ? base * factor_ : base;
}

double ConstantLR::chained(std::int64_t step, double current, double) const {
  if (step == 0) return current * factor_;
  if (step != total_iters_) return current;
  DESCENT_CHECK(factor_ != 0.0, name(), ": factor 0 inside a chainedscheduler cannot be undone at total_iters = ",
                total_iters_, " (PyTorch divides by the factor there); expected a factor in (0, 1]");
  return current * (1.0 / factor_);
}

LinearLR::LinearLR(double start_factor, double end_factor, std::int64_t total_iters)
    : start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  require(start_factor > 0.0 && start_factor <= 1.0, name(), "start_factor", start_factor, "a number in (0, 1]");
  require(end_factor >= 0.0 && end_factor <= 1.0, name(), "end_factor", end_factor, "a number in [0, 1]");
  require(total_iters >= 1, name(), "total_iters", total_iters, "an integer >= 1");
}

double LinearLR::compute(std::int64_t step, double base) const {
  const double progress = static_cast<double>(std::min(step, total_iters_)) / static_cast<double>(total_iters_);
  return base * (start_factor_ + (end_factor_ - start_factor_) * progress);
}

double LinearLR::chained(std::int64_t step, double current, double) const {
  if (step == 0) return current * start_factor_;
  if (step > total_iters_) return current;
  const double change = end_factor_ - start_factor_;
  return current * (1.0 + change / (double(total_iters_) * start_factor_ + double(step - 1) * change));
}

ExponentialLR::ExponentialLR(double gamma) : gamma_(gamma) {
  require(gamma > 0.0, name(), "gamma", gamma, "a number > 0");
}

double ExponentialLR::compute(std::int64_t step, double base) const {
  return base * std::pow(gamma_, static_cast<double>(step));
}

double ExponentialLR::chained(std::int64_t step, double current, double) const {
  return step == 0 ? current : current * gamma_;
}

PolynomialLR::PolynomialLR(std::int64_t total_iters, double power) : total_iters_(total_iters), power_(power) {
  require(total_iters >= 1, name(), "total_iters", total_iters, "an integer >= 1");
  require(power >= 0.0, name(), "power", power, "a number >= 0");
}

double PolynomialLR::compute(std::int64_t step, double base) const {
  const double progress = static_cast<double>(std::min(step, total_iters_)) / static_cast<double>(total_iters_);
  return base * std::pow(1.0 - progress, power_);
}

double PolynomialLR::chained(std::int64_t step, double current, double) const {
  if (step == 0 || step > total_iters_) return current;
  const double total = double(total_iters_);
  return current * std::pow((1.0 - double(step) / total) / (1.0 - double(step - 1) / total), power_);
}

}  // namespace descent::schedule
