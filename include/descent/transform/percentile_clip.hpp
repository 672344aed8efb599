#pragma once
// Adaptive norm clipping at a percentile of recent gradient norms (AutoClip, Seetharaman et al. 2020,
// with a sliding window instead of the whole history).
//
// Rule, per step: the step's (finite, unscaled, pre-clipping) global norm is first appended to a window
// holding the last `window` such norms; the threshold is then the `percentile`-th percentile of the
// window, interpolated linearly between order statistics (NumPy's default "linear" method), and the
// gradient is clipped to it as clip_grad_norm_ does: coef = min(1, threshold / (norm + 1e-6)). The
// first step's window holds only its own norm, so it is not clipped. Non-finite norms (skipped steps)
// are never recorded.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace descent::transform {

struct PercentileClipOptions {
  double percentile = 10.0;     // in (0, 100]; AutoClip's recommendation is 10
  std::int64_t window = 1000;   // >= 1 recent norms
};

class PercentileClip {
 public:
  explicit PercentileClip(PercentileClipOptions options = {});

  const PercentileClipOptions& options() const { return options_; }
  // Appends `norm` (finite, >= 0) to the window and returns the threshold to clip it to.
  double record(double norm);
  // The current threshold (percentile of the window); throws while the window is empty.
  double threshold() const;
  std::int64_t recorded() const { return std::int64_t(norms_.size()); }

  nlohmann::json state_dict() const;  // {"norms": oldest first}
  void load_state_dict(const nlohmann::json& state);

 private:
  PercentileClipOptions options_;
  std::vector<double> norms_;   // ring buffer once full
  std::size_t next_ = 0;        // slot the next norm overwrites once full
  mutable std::vector<double> sorted_;
};

}  // namespace descent::transform
