#pragma once
// The one-dimensional Parzen estimator of TPE, built the way Optuna (v3, optuna/samplers/_tpe/
// parzen_estimator.py, independent mode) builds it:
// - numeric parameters, in internal coordinates over [internal_low, internal_high]: one Gaussian
//   kernel per observation, truncated to the range, plus a prior kernel at the centre with
//   sigma = range. A kernel's sigma is the larger distance to its neighbours among the sorted
//   observations and the range ends (without consider_endpoints, the outermost kernels use their inner
//   neighbour only), clipped to [range / min(100, 1 + kernels), range] ("magic clip").
//   Continuous parameters have a density; discrete ones (int, stepped float) the mass of their cell.
// - categoricals: kernel i puts weight 1 on its observed choice plus prior_weight / kernels on every
//   choice, normalised; the prior kernel is uniform.
// - mixture weights: observations in trial order get 1 each (with 25 or more, the oldest n - 25 ramp
//   linearly from 1/n up to 1), the prior gets prior_weight; then normalised.
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/core/rng.hpp"
#include "descent/search/space.hpp"

namespace descent::search {

// Optuna's default_weights: n ones, except the oldest n - 25 of n >= 25 ramp from 1/n to 1.
std::vector<double> parzen_observation_weights(std::size_t n);

class ParzenEstimator {
 public:
  // `observations`: valid values of `param` in trial order (oldest first).
  ParzenEstimator(const ParamSpec& param, const std::vector<nlohmann::json>& observations, double prior_weight,
                  bool consider_endpoints);
  // A valid value of the parameter drawn from the mixture.
  nlohmann::json sample(Generator& generator) const;
  // Log density (continuous) or log probability (discrete) of a valid value.
  double log_pdf(const nlohmann::json& value) const;

  const std::vector<double>& weights() const { return weights_; }
  const std::vector<double>& mus() const { return mus_; }
  const std::vector<double>& sigmas() const { return sigmas_; }
  // Categoricals: the mixture's probability of each choice.
  const std::vector<double>& choice_probabilities() const { return choice_probabilities_; }

 private:
  ParamSpec param_;
  double low_ = 0.0;
  double high_ = 0.0;
  std::vector<double> weights_;  // mixture weights, the prior's last
  std::vector<double> mus_;
  std::vector<double> sigmas_;
  std::vector<double> choice_probabilities_;
};

}  // namespace descent::search
