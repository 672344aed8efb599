#pragma once
// Random search (Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 2012):
// every active parameter drawn independently and uniformly in its internal coordinates, i.e.
// uniform for linear floats, log-uniform for log parameters, every value of an int, stepped float or
// categorical equally likely (each owns an equal-width cell; see ParamSpec).
#include <cstdint>

#include "descent/core/rng.hpp"
#include "descent/search/sampler.hpp"

namespace descent::search {

// One independent draw for every parameter active under the draws before it (parents come first).
nlohmann::json sample_uniform(const SearchSpace& space, Generator& generator);

// The generator a sampler uses for trial `number`: a fork of its seed, so proposals do not depend on
// the order in which trials are asked for.
Generator trial_generator(std::uint64_t seed, std::int64_t number);

class RandomSampler final : public Sampler {
 public:
  explicit RandomSampler(std::uint64_t seed) : seed_(seed) {}
  std::string name() const override { return "random"; }
  nlohmann::json sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                        std::int64_t number) override;

 private:
  std::uint64_t seed_;
};

}  // namespace descent::search
