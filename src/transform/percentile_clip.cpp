#include "descent/transform/percentile_clip.hpp"

#include <algorithm>
#include <cmath>

#include "descent/core/error.hpp"

namespace descent::transform {

PercentileClip::PercentileClip(PercentileClipOptions options) : options_(options) {
  DESCENT_CHECK(options_.percentile > 0.0 && options_.percentile <= 100.0, "PercentileClip: percentile = ",
                options_.percentile, "; expected a number in (0, 100]");
  DESCENT_CHECK(options_.window >= 1, "PercentileClip: window = ", options_.window, "; expected an integer >= 1");
  norms_.reserve(std::size_t(options_.window));
}

double PercentileClip::record(double norm) {
  DESCENT_CHECK(std::isfinite(norm) && norm >= 0.0, "PercentileClip::record: norm = ", norm,
                "; expected a finite number >= 0 (skip non-finite steps before clipping)");
  if (std::int64_t(norms_.size()) < options_.window) {
    norms_.push_back(norm);
  } else {
    norms_[next_] = norm;
    next_ = (next_ + 1) % norms_.size();
  }
  return threshold();
}

double PercentileClip::threshold() const {
  DESCENT_CHECK(!norms_.empty(), "PercentileClip::threshold: no norm recorded yet; expected record() first");
  sorted_.assign(norms_.begin(), norms_.end());
  const double rank = options_.percentile / 100.0 * double(sorted_.size() - 1);
  const auto below = std::size_t(std::floor(rank));
  std::nth_element(sorted_.begin(), sorted_.begin() + std::ptrdiff_t(below), sorted_.end());
  const double low = sorted_[below];
  if (below + 1 >= sorted_.size()) return low;
  const double high = *std::min_element(sorted_.begin() + std::ptrdiff_t(below) + 1, sorted_.end());
  return low + (rank - double(below)) * (high - low);
}

nlohmann::json PercentileClip::state_dict() const {
  std::vector<double> oldest_first;
  for (std::size_t i = 0; i < norms_.size(); ++i) oldest_first.push_back(norms_[(next_ + i) % norms_.size()]);
  return {{"norms", oldest_first}};
}

void PercentileClip::load_state_dict(const nlohmann::json& state) {
  std::vector<double> norms;
  try {
    norms = state.at("norms").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("PercentileClip::load_state_dict: ", e.what(),
                               "; expected {\"norms\": [numbers, oldest first]}"));
  }
  for (double norm : norms)
    DESCENT_CHECK(std::isfinite(norm) && norm >= 0.0, "PercentileClip::load_state_dict: norm ", norm,
                  "; expected finite numbers >= 0");
  // A smaller window keeps the newest norms.
  const std::size_t keep = std::min(norms.size(), std::size_t(options_.window));
  norms_.assign(norms.end() - std::ptrdiff_t(keep), norms.end());
  next_ = 0;
}

}  // namespace descent::transform
