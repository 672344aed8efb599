#pragma once
// Grid search: the Cartesian product of every parameter's grid values (ParamSpec::grid_values:
// all choices of a categorical, all values of an int or stepped float with at most `grid_points` of
// them, otherwise `grid_points` values evenly spaced from low to high in internal coordinates, i.e.
// log-spaced for log parameters). A conditional parameter multiplies only the configurations in which
// it is active, so {"opt": [sgd, adam], "momentum" (sgd only): 3 points} is 3 + 1 = 4 configurations.
//
// Order: lexicographic in the space's parameter order (parents first, then by name), each parameter's
// values in grid order, the last parameter varying fastest. sample() returns the first configuration
// not already in the history (trials of any state, running ones included), so a resumed study, or a
// parallel runner that records a trial before asking for the next, continues where it stopped.
// has_next() is false once every configuration is in the history; sample() then throws.
#include <cstddef>

#include "descent/search/sampler.hpp"

namespace descent::search {

// The grid's configurations in visiting order. Throws when there are more than `limit`.
std::vector<nlohmann::json> grid_configurations(const SearchSpace& space, std::size_t grid_points,
                                                std::size_t limit = 100'000);

class GridSampler final : public Sampler {
 public:
  explicit GridSampler(std::size_t grid_points = 5) : grid_points_(grid_points) {}
  std::string name() const override { return "grid"; }
  nlohmann::json sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                        std::int64_t number) override;
  bool has_next(const SearchSpace& space, const std::vector<TrialRecord>& history) const override;

 private:
  std::size_t grid_points_;
};

}  // namespace descent::search
