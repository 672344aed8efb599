#pragma once
// Gaussian-process Bayesian optimisation with expected improvement (Jones et al. 1998; Snoek,
// Larochelle & Adams, "Practical Bayesian Optimization of Machine Learning Algorithms", NeurIPS 2012
// for Matérn 5/2 ARD and EI over hyperparameters).
// 1. Observations are trials with an observed_loss (see trial.hpp); fewer than n_startup_trials: a
//    random-search draw.
// 2. Inputs: every numeric parameter's unit coordinate (ParamSpec::to_unit: log applied, discrete
//    values at their cell), every categorical one-hot; an inactive numeric parameter reads 0.5 and an
//    inactive categorical all zeros. Targets: losses standardised to mean 0, sd 1.
// 3. GaussianProcess with fit_gp_hyperparameters (n_restarts starts).
// 4. EI below the best standardised loss, margin xi, maximised over n_candidates random
//    configurations (sample_uniform, so conditions hold), then the 5 best are refined by local search:
//    40 Gaussian steps of each numeric unit coordinate (sd 0.1 shrinking to 0.005), snapped to valid
//    values, each kept when EI grows.
#include <cstdint>

#include "descent/search/sampler.hpp"

namespace descent::search {

struct GpOptions {
  std::int64_t n_startup_trials = 10;
  std::int64_t n_candidates = 2000;
  std::int64_t n_restarts = 4;
  double xi = 0.0;
};

// The GP input vector of a configuration (step 2 above).
std::vector<double> gp_features(const SearchSpace& space, const nlohmann::json& params);

class GpSampler final : public Sampler {
 public:
  GpSampler(GpOptions options, Direction direction, std::uint64_t seed)
      : options_(options), direction_(direction), seed_(seed) {}
  std::string name() const override { return "gp"; }
  nlohmann::json sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                        std::int64_t number) override;

 private:
  GpOptions options_;
  Direction direction_;
  std::uint64_t seed_;
};

}  // namespace descent::search
