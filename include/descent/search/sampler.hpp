#pragma once
// Samplers propose hyperparameters for the next trial of a study.
//
// A sampler is a pure function of (its options, the direction, its seed, the trial number, the
// history): it keeps no state between calls, so a study resumed from storage, or trials proposed by
// parallel workers in any order, see the same proposals. Each call draws from
// Generator(seed).fork(number).
//
// The history is every trial of the study, running ones included (the grid must not propose a
// configuration a worker is already running); params hold exactly the active parameters. What the
// model-based samplers learn from a trial is observed_loss() in trial.hpp.
//
// make_sampler names and options (unknown names or options are a descent::Error listing the valid ones):
//   grid   {"grid_points": 5}             Cartesian product in a fixed order; skips configurations
//                                         already in the history (any state); has_next false at the end.
//   random {}                             independent uniform draws in each parameter's internal space.
//   sobol  {"skip": 0, "scramble": false} Sobol' point number (trial number + skip), Joe & Kuo direction
//                                         numbers, at most sobol_max_dimensions() parameters.
//   tpe    {"n_startup_trials": 10, "n_ei_candidates": 24, "gamma_fraction": 0.1, "gamma_max": 25,
//           "prior_weight": 1.0, "consider_endpoints": false}
//   gp     {"n_startup_trials": 10, "n_candidates": 2000, "n_restarts": 4, "xi": 0.0}
// See docs/SEARCH.md for the algorithms and their sources.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/search/space.hpp"
#include "descent/search/trial.hpp"

namespace descent::search {

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::string name() const = 0;
  // Parameters for trial `number`, given every trial so far (any state). Deterministic given the
  // sampler's seed, the number and the history. Only active parameters appear in the result.
  virtual nlohmann::json sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                                std::int64_t number) = 0;
  // False when the sampler can produce no new configuration (a finished grid).
  virtual bool has_next(const SearchSpace&, const std::vector<TrialRecord>&) const { return true; }
};

// name: grid, random, sobol, tpe, gp. `options` is a JSON object (null means {}).
std::unique_ptr<Sampler> make_sampler(const std::string& name, const nlohmann::json& options,
                                      Direction direction, std::uint64_t seed);
std::vector<std::string> sampler_names();

}  // namespace descent::search
