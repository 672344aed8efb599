#include "descent/search/gp.hpp"

#include <algorithm>
#include <cmath>

#include "descent/search/gaussian_process.hpp"
#include "descent/search/random.hpp"

namespace descent::search {

namespace {

struct Candidate {
  nlohmann::json params;
  double improvement;
};

// A neighbour of `params`: each active numeric parameter moved by a Gaussian step of `sd` in unit
// coordinates and snapped to a valid value; parameters that become active get a uniform draw,
// ones that become inactive are dropped. Categoricals stay.
nlohmann::json perturb(const SearchSpace& space, const nlohmann::json& params, double sd, Generator& generator) {
  nlohmann::json out = nlohmann::json::object();
  for (const ParamSpec& p : space.params()) {
    if (!space.is_active(p.name, out)) continue;
    if (!params.contains(p.name)) {
      out[p.name] = p.from_unit(generator.uniform());
    } else if (p.type == ParamType::categorical) {
      out[p.name] = params.at(p.name);
    } else {
      out[p.name] = p.from_unit(p.to_unit(params.at(p.name)) + sd * generator.normal());
    }
  }
  return out;
}

}  // namespace

std::vector<double> gp_features(const SearchSpace& space, const nlohmann::json& params) {
  std::vector<double> features;
  for (const ParamSpec& p : space.params()) {
    const bool known = params.is_object() && params.contains(p.name) && p.accepts(params.at(p.name));
    if (p.type == ParamType::categorical) {
      const std::size_t chosen = known ? std::size_t(p.to_internal(params.at(p.name))) : p.choices.size();
      for (std::size_t c = 0; c < p.choices.size(); ++c) features.push_back(c == chosen ? 1.0 : 0.0);
    } else {
      features.push_back(known ? p.to_unit(params.at(p.name)) : 0.5);
    }
  }
  return features;
}

nlohmann::json GpSampler::sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                                 std::int64_t number) {
  Generator generator = trial_generator(seed_, number);
  std::vector<std::vector<double>> inputs;
  std::vector<double> losses;
  for (const TrialRecord& t : history) {
    if (auto loss = observed_loss(t, direction_)) {
      inputs.push_back(gp_features(space, t.params));
      losses.push_back(*loss);
    }
  }
  if (std::int64_t(losses.size()) < options_.n_startup_trials || losses.empty()) {
    return sample_uniform(space, generator);
  }

  double mean = 0.0;
  for (double y : losses) mean += y / double(losses.size());
  double variance = 0.0;
  for (double y : losses) variance += (y - mean) * (y - mean) / double(losses.size());
  const double scale = variance > 1e-24 ? std::sqrt(variance) : 1.0;
  for (double& y : losses) y = (y - mean) / scale;
  const double best = *std::min_element(losses.begin(), losses.end());

  const GpHyperparameters h = fit_gp_hyperparameters(inputs, losses, generator, int(options_.n_restarts));
  const GaussianProcess gp(std::move(inputs), std::move(losses), h);
  auto improvement = [&](const nlohmann::json& params) {
    const auto prediction = gp.predict(gp_features(space, params));
    return expected_improvement(prediction.mean, std::sqrt(prediction.variance), best, options_.xi);
  };

  std::vector<Candidate> candidates;
  for (std::int64_t c = 0; c < options_.n_candidates; ++c) {
    nlohmann::json params = sample_uniform(space, generator);
    const double ei = improvement(params);
    candidates.push_back({std::move(params), ei});
  }
  const std::size_t refined = std::min<std::size_t>(5, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + std::ptrdiff_t(refined), candidates.end(),
                    [](const Candidate& a, const Candidate& b) { return a.improvement > b.improvement; });
  constexpr int kSteps = 40;
  for (std::size_t c = 0; c < refined; ++c) {
    Candidate& current = candidates[c];
    for (int step = 0; step < kSteps; ++step) {
      const double sd = 0.1 * std::pow(0.05, double(step) / (kSteps - 1));
      nlohmann::json neighbour = perturb(space, current.params, sd, generator);
      const double ei = improvement(neighbour);
      if (ei > current.improvement) current = {std::move(neighbour), ei};
    }
  }
  const auto winner = std::max_element(candidates.begin(), candidates.begin() + std::ptrdiff_t(refined),
                                       [](const Candidate& a, const Candidate& b) { return a.improvement < b.improvement; });
  return winner->params;
}

}  // namespace descent::search
