#include "descent/search/random.hpp"

namespace descent::search {

nlohmann::json sample_uniform(const SearchSpace& space, Generator& generator) {
  nlohmann::json params = nlohmann::json::object();
  for (const ParamSpec& p : space.params()) {
    if (!space.is_active(p.name, params)) continue;
    params[p.name] = p.from_unit(generator.uniform());
  }
  return params;
}

Generator trial_generator(std::uint64_t seed, std::int64_t number) {
  return Generator(seed).fork(static_cast<std::uint64_t>(number));
}

nlohmann::json RandomSampler::sample(const SearchSpace& space, const std::vector<TrialRecord>&,
                                     std::int64_t number) {
  Generator generator = trial_generator(seed_, number);
  return sample_uniform(space, generator);
}

}  // namespace descent::search
