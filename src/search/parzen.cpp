#include "descent/search/parzen.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include "normal.hpp"

namespace descent::search {

namespace {

std::size_t pick(const std::vector<double>& weights, Generator& generator) {
  double u = generator.uniform();
  for (std::size_t i = 0; i + 1 < weights.size(); ++i) {
    if (u < weights[i]) return i;
    u -= weights[i];
  }
  return weights.size() - 1;
}

double log_sum_exp(const std::vector<double>& terms) {
  const double top = *std::max_element(terms.begin(), terms.end());
  if (!std::isfinite(top)) return top;
  double sum = 0.0;
  for (double t : terms) sum += std::exp(t - top);
  return top + std::log(sum);
}

}  // namespace

std::vector<double> parzen_observation_weights(std::size_t n) {
  std::vector<double> weights(n, 1.0);
  if (n < 25) return weights;
  const std::size_t ramp = n - 25;
  for (std::size_t i = 0; i < ramp; ++i) {  // numpy.linspace(1 / n, 1, ramp)
    weights[i] = ramp == 1 ? 1.0 / double(n) : 1.0 / double(n) + (1.0 - 1.0 / double(n)) * double(i) / double(ramp - 1);
  }
  return weights;
}

ParzenEstimator::ParzenEstimator(const ParamSpec& param, const std::vector<nlohmann::json>& observations,
                                 double prior_weight, bool consider_endpoints)
    : param_(param), low_(param.internal_low()), high_(param.internal_high()) {
  weights_ = parzen_observation_weights(observations.size());
  weights_.push_back(prior_weight);
  const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  for (double& w : weights_) w /= total;

  if (param.type == ParamType::categorical) {
    const std::size_t choices = param.choices.size();
    const double kernels = double(observations.size() + 1);
    choice_probabilities_.assign(choices, 0.0);
    for (std::size_t i = 0; i < observations.size(); ++i) {
      const auto observed = std::size_t(param.to_internal(observations[i]));
      const double normaliser = 1.0 + prior_weight / kernels * double(choices);
      for (std::size_t c = 0; c < choices; ++c) {
        const double mass = prior_weight / kernels + (c == observed ? 1.0 : 0.0);
        choice_probabilities_[c] += weights_[i] * mass / normaliser;
      }
    }
    for (double& p : choice_probabilities_) p += weights_.back() / double(choices);
    return;
  }

  const double range = high_ - low_;
  for (const auto& value : observations) mus_.push_back(param.to_internal(value));
  const std::size_t n = mus_.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return mus_[a] < mus_[b]; });
  std::vector<double> sorted(n + 2);
  sorted[0] = low_;
  sorted[n + 1] = high_;
  for (std::size_t i = 0; i < n; ++i) sorted[i + 1] = mus_[order[i]];
  std::vector<double> sorted_sigmas(n);
  for (std::size_t i = 0; i < n; ++i) {
    sorted_sigmas[i] = std::max(sorted[i + 1] - sorted[i], sorted[i + 2] - sorted[i + 1]);
  }
  if (!consider_endpoints && n >= 2) {
    sorted_sigmas[0] = sorted[2] - sorted[1];
    sorted_sigmas[n - 1] = sorted[n] - sorted[n - 1];
  }
  const double min_sigma = range / std::min(100.0, 1.0 + double(n + 1));
  sigmas_.assign(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) sigmas_[order[i]] = std::clamp(sorted_sigmas[i], min_sigma, range);
  mus_.push_back(0.5 * (low_ + high_));
  sigmas_.push_back(range);
}

nlohmann::json ParzenEstimator::sample(Generator& generator) const {
  if (param_.type == ParamType::categorical) {
    return param_.choices[pick(choice_probabilities_, generator)];
  }
  const std::size_t k = pick(weights_, generator);
  // Rejection from the untruncated kernel: mu lies in the range and sigma <= range, so at least
  // Phi(1) - 1/2 = 34% of its mass is inside and the loop ends fast.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const double x = mus_[k] + sigmas_[k] * generator.normal();
    if (x >= low_ && x <= high_) return param_.from_internal(x);
  }
  return param_.from_internal(low_ + generator.uniform() * (high_ - low_));
}

double ParzenEstimator::log_pdf(const nlohmann::json& value) const {
  if (param_.type == ParamType::categorical) {
    return std::log(choice_probabilities_[std::size_t(param_.to_internal(value))]);
  }
  const double x = param_.to_internal(value);
  double cell_low = x;
  double cell_high = x;
  if (param_.is_discrete()) {
    const double v = value.get<double>();
    cell_low = param_.log ? std::log(v - 0.5) : v - *param_.step / 2;
    cell_high = param_.log ? std::log(v + 0.5) : v + *param_.step / 2;
    cell_low = std::max(cell_low, low_);
    cell_high = std::min(cell_high, high_);
  }
  std::vector<double> terms(mus_.size());
  for (std::size_t k = 0; k < mus_.size(); ++k) {
    const double s = sigmas_[k];
    const double in_range = detail::normal_mass((low_ - mus_[k]) / s, (high_ - mus_[k]) / s);
    double log_p;
    if (param_.is_discrete()) {
      const double mass = detail::normal_mass((cell_low - mus_[k]) / s, (cell_high - mus_[k]) / s);
      log_p = std::log(std::max(mass, std::numeric_limits<double>::min()));
    } else {
      const double z = (x - mus_[k]) / s;
      log_p = -0.5 * z * z - std::log(s) - 0.5 * std::log(2.0 * std::numbers::pi);
    }
    terms[k] = std::log(weights_[k]) + log_p - std::log(std::max(in_range, std::numeric_limits<double>::min()));
  }
  return log_sum_exp(terms);
}

}  // namespace descent::search
