#include "descent/schedule/piecewise.hpp"

#include <sstream>

#include "check.hpp"

namespace descent::schedule {

using detail::require;

PiecewiseConstant::PiecewiseConstant(std::vector<std::int64_t> boundaries, std::vector<double> scales)
    : boundaries_(std::move(boundaries)), scales_(std::move(scales)) {
  std::ostringstream shown;
  shown << "[";
  bool increasing = true;
  for (std::size_t i = 0; i < boundaries_.size(); ++i) {
    shown << (i ? "," : "") << boundaries_[i];
    if (boundaries_[i] < 0 || (i > 0 && boundaries_[i] <= boundaries_[i - 1])) increasing = false;
  }
  shown << "]";
  require(increasing, name(), "boundaries", shown.str(), "strictly increasing steps >= 0");
  require(scales_.size() == boundaries_.size(), name(), "scales", std::to_string(scales_.size()) + " values",
          std::to_string(boundaries_.size()) + " values, one per boundary");
  for (double scale : scales_) require(scale >= 0.0, name(), "scales", scale, "numbers >= 0");
}

double PiecewiseConstant::compute(std::int64_t step, double base) const {
  double value = base;
  for (std::size_t i = 0; i < boundaries_.size() && boundaries_[i] <= step; ++i) value *= scales_[i];
  return value;
}

}  // namespace descent::schedule
