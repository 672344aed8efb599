#pragma once
// Pruners: stop unpromising trials early from their intermediate values (the tuned metric after each
// epoch). Each is a pure function of the trial's reports and the study's trials, as in Optuna:
//
//   median              {n_startup_trials: 5, n_warmup_steps: 0, interval_steps: 1, n_min_trials: 1}
//       prune when the trial's best value so far is worse than the median of the complete trials' values
//       at the same step (Optuna's MedianPruner: no pruning before n_startup_trials trials are complete,
//       before step n_warmup_steps, or off the interval).
//   successive_halving  {min_resource: 1, reduction_factor: 4, min_early_stopping_rate: 0}   (alias: asha)
//       asynchronous successive halving (Li et al. 2020, Optuna's SuccessiveHalvingPruner): rung r is
//       reached at step min_resource * reduction_factor^(min_early_stopping_rate + r); a trial reaching
//       a rung continues only when its value there is in the top 1/reduction_factor of every trial's value
//       at that rung so far (while fewer than reduction_factor trials have one, only the best continues).
//   hyperband           {min_resource: 1, max_resource: trainer.epochs, reduction_factor: 3}
//       floor(log_eta(max/min)) + 1 successive-halving brackets, bracket b with early-stopping rate b;
//       trial n belongs to a bracket by n modulo the sum of Hyperband's bracket sizes
//       ceil(B / (s + 1) * eta^s) (s = B - 1 - b), so the most aggressive bracket gets the most trials.
//       A trial competes only with trials of its bracket.
//
// Steps are what the trial reported (epochs, 1-based). A non-finite value is pruned at once.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descent/search/trial.hpp"

namespace descent::tune {

class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual std::string name() const = 0;
  // Whether `trial`, whose last intermediate value was just reported, should stop. `study` holds the
  // study's trials (the trial itself may be among them: it is recognised by its number and skipped).
  virtual bool should_prune(const search::TrialRecord& trial, const std::vector<search::TrialRecord>& study,
                            search::Direction direction) const = 0;
};

struct MedianOptions {
  std::int64_t n_startup_trials = 5;
  std::int64_t n_warmup_steps = 0;
  std::int64_t interval_steps = 1;
  std::int64_t n_min_trials = 1;
};

struct SuccessiveHalvingOptions {
  std::int64_t min_resource = 1;
  std::int64_t reduction_factor = 4;
  std::int64_t min_early_stopping_rate = 0;
};

struct HyperbandOptions {
  std::int64_t min_resource = 1;
  std::int64_t max_resource = 0;  // required (the config's trainer.epochs when read from a study config)
  std::int64_t reduction_factor = 3;
};

std::unique_ptr<Pruner> make_median_pruner(MedianOptions options);
std::unique_ptr<Pruner> make_successive_halving_pruner(SuccessiveHalvingOptions options);
std::unique_ptr<Pruner> make_hyperband_pruner(HyperbandOptions options);

// By name (median, successive_halving, asha, hyperband) with options as above; unknown names or options
// are errors listing the valid ones. `default_max_resource` fills hyperband's max_resource.
std::unique_ptr<Pruner> make_pruner(const std::string& name, const nlohmann::json& options,
                                    std::int64_t default_max_resource);
std::vector<std::string> pruner_names();

// Hyperband's bracket of trial `number` (0 = most aggressive) and the bracket count.
std::int64_t hyperband_bracket(const HyperbandOptions& options, std::int64_t number);
std::int64_t hyperband_bracket_count(const HyperbandOptions& options);

}  // namespace descent::tune
