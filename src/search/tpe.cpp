#include "descent/search/tpe.hpp"

#include <algorithm>
#include <cmath>

#include "descent/search/parzen.hpp"
#include "descent/search/random.hpp"

namespace descent::search {

namespace {

struct Observation {
  const TrialRecord* trial;
  double loss;
};

// The valid values of `param` among `trials` in which it is active, in trial order.
std::vector<nlohmann::json> values_of(const ParamSpec& param, std::vector<const TrialRecord*> trials) {
  std::sort(trials.begin(), trials.end(), [](const auto* a, const auto* b) { return a->number < b->number; });
  std::vector<nlohmann::json> values;
  for (const TrialRecord* t : trials) {
    if (!t->params.is_object() || !t->params.contains(param.name)) continue;
    const auto& value = t->params.at(param.name);
    if (param.accepts(value)) values.push_back(value);  // a value from an older space is not evidence
  }
  return values;
}

}  // namespace

nlohmann::json TpeSampler::sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                                  std::int64_t number) {
  Generator generator = trial_generator(seed_, number);
  std::vector<Observation> observed;
  for (const TrialRecord& t : history) {
    if (auto loss = observed_loss(t, direction_)) observed.push_back({&t, *loss});
  }
  if (std::int64_t(observed.size()) < options_.n_startup_trials) return sample_uniform(space, generator);

  std::stable_sort(observed.begin(), observed.end(), [](const Observation& a, const Observation& b) {
    return a.loss < b.loss || (a.loss == b.loss && a.trial->number < b.trial->number);
  });
  const auto n_below = std::min<std::size_t>(
      std::size_t(std::ceil(options_.gamma_fraction * double(observed.size()))), std::size_t(options_.gamma_max));
  std::vector<const TrialRecord*> below, above;
  for (std::size_t i = 0; i < observed.size(); ++i) (i < n_below ? below : above).push_back(observed[i].trial);

  nlohmann::json params = nlohmann::json::object();
  for (const ParamSpec& p : space.params()) {
    if (!space.is_active(p.name, params)) continue;
    if (p.internal_high() <= p.internal_low()) {  // a single value: nothing to choose
      params[p.name] = p.from_internal(p.internal_low());
      continue;
    }
    const ParzenEstimator good(p, values_of(p, below), options_.prior_weight, options_.consider_endpoints);
    const ParzenEstimator bad(p, values_of(p, above), options_.prior_weight, options_.consider_endpoints);
    nlohmann::json best;
    double best_score = -INFINITY;
    for (std::int64_t c = 0; c < options_.n_ei_candidates; ++c) {
      nlohmann::json candidate = good.sample(generator);
      const double score = good.log_pdf(candidate) - bad.log_pdf(candidate);
      if (best.is_null() || score > best_score) {
        best = std::move(candidate);
        best_score = score;
      }
    }
    params[p.name] = std::move(best);
  }
  return params;
}

}  // namespace descent::search
