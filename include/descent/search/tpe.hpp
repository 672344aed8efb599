#pragma once
// Tree-structured Parzen Estimator (J. Bergstra, R. Bardenet, Y. Bengio, B. Kégl, "Algorithms for
// Hyper-Parameter Optimization", NeurIPS 2011), independent per parameter, with Optuna's defaults
// (optuna.samplers.TPESampler, v3):
// 1. Observations are trials with an observed_loss (complete trials, and pruned trials at their last
//    intermediate value; running and failed trials are ignored). Fewer than n_startup_trials of them:
//    a random-search draw.
// 2. Sort by loss (ties: older first); the best n_below = min(ceil(gamma_fraction * n), gamma_max) are
//    "below", the rest "above".
// 3. For each parameter active under the values chosen so far (parents first): build l(x) from the
//    below trials in which it is active and g(x) from the above ones (ParzenEstimator), draw
//    n_ei_candidates from l and keep the one maximising log l(x) - log g(x), which maximises expected
//    improvement under the TPE model (Bergstra et al., section 4).
// Deviation from Optuna: pruned trials are ranked by their last intermediate value together with
// complete trials, instead of after all complete trials.
#include <cstdint>

#include "descent/search/sampler.hpp"

namespace descent::search {

struct TpeOptions {
  std::int64_t n_startup_trials = 10;
  std::int64_t n_ei_candidates = 24;
  double gamma_fraction = 0.1;
  std::int64_t gamma_max = 25;
  double prior_weight = 1.0;
  bool consider_endpoints = false;
};

class TpeSampler final : public Sampler {
 public:
  TpeSampler(TpeOptions options, Direction direction, std::uint64_t seed)
      : options_(options), direction_(direction), seed_(seed) {}
  std::string name() const override { return "tpe"; }
  nlohmann::json sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                        std::int64_t number) override;

 private:
  TpeOptions options_;
  Direction direction_;
  std::uint64_t seed_;
};

}  // namespace descent::search
