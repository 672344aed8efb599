#include "descent/tune/pruner.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "descent/core/error.hpp"
#include "descent/core/options.hpp"

namespace descent::tune {

using search::Direction;
using search::TrialRecord;
using search::TrialState;

namespace {

bool better_or_equal(double a, double b, Direction direction) {
  return direction == Direction::minimize ? a <= b : a >= b;
}

// numpy.percentile with linear interpolation over the finite values; NaN when there are none.
double percentile(std::vector<double> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }), values.end());
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double position = q / 100.0 * double(values.size() - 1);
  const auto below = std::size_t(std::floor(position));
  const auto above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - double(below)) * (values[above] - values[below]);
}

std::optional<double> value_at(const TrialRecord& trial, std::int64_t step) {
  for (const auto& [s, v] : trial.intermediate)
    if (s == step) return v;
  return std::nullopt;
}

class MedianPruner : public Pruner {
 public:
  explicit MedianPruner(MedianOptions options) : o_(options) {}
  std::string name() const override { return "median"; }

  bool should_prune(const TrialRecord& trial, const std::vector<TrialRecord>& study, Direction direction) const override {
    if (trial.intermediate.empty()) return false;
    std::vector<const TrialRecord*> complete;
    for (const auto& t : study)
      if (t.state == TrialState::complete && t.number != trial.number) complete.push_back(&t);
    if (complete.empty() || std::int64_t(complete.size()) < o_.n_startup_trials) return false;
    const std::int64_t step = trial.intermediate.back().first;
    if (step < o_.n_warmup_steps) return false;
    // Only the first report at or after each interval boundary is judged (Optuna's _is_first_in_interval_step).
    const std::int64_t boundary = (step - o_.n_warmup_steps) / o_.interval_steps * o_.interval_steps + o_.n_warmup_steps;
    std::int64_t previous = -1;
    for (const auto& [s, v] : trial.intermediate)
      if (s != step && s > previous) previous = s;
    if (previous >= boundary) return false;

    std::optional<double> best;
    for (const auto& [s, v] : trial.intermediate)
      if (std::isfinite(v) && (!best || better_or_equal(v, *best, direction))) best = v;
    if (!best) return true;
    std::vector<double> at_step;
    for (const auto* t : complete)
      if (auto v = value_at(*t, step)) at_step.push_back(*v);
    if (std::int64_t(at_step.size()) < o_.n_min_trials) return false;
    const double median = percentile(at_step, 50.0);
    if (std::isnan(median)) return false;
    return direction == Direction::minimize ? *best > median : *best < median;
  }

 private:
  MedianOptions o_;
};

// Asynchronous successive halving over the trials `in_bracket` accepts.
class SuccessiveHalving {
 public:
  SuccessiveHalving(SuccessiveHalvingOptions options) : o_(options) {}

  std::int64_t rung_step(std::int64_t rung) const {
    std::int64_t step = o_.min_resource;
    for (std::int64_t i = 0; i < o_.min_early_stopping_rate + rung; ++i) step *= o_.reduction_factor;
    return step;
  }

  // A trial's value at `rung`: its report at the first step at or past the rung's step.
  std::optional<double> rung_value(const TrialRecord& trial, std::int64_t rung) const {
    const std::int64_t at = rung_step(rung);
    for (const auto& [s, v] : trial.intermediate)
      if (s >= at) return v;
    return std::nullopt;
  }

  template <class InBracket>
  bool should_prune(const TrialRecord& trial, const std::vector<TrialRecord>& study, Direction direction,
                    InBracket in_bracket) const {
    if (trial.intermediate.empty()) return false;
    const auto [step, value] = trial.intermediate.back();
    // Rungs passed at earlier reports were judged then; judge the ones this report reaches.
    std::int64_t previous = -1;
    if (trial.intermediate.size() >= 2) previous = trial.intermediate[trial.intermediate.size() - 2].first;
    std::int64_t rung = 0;
    while (rung_step(rung) <= previous) ++rung;
    for (; rung_step(rung) <= step; ++rung) {
      if (!std::isfinite(value)) return true;
      std::vector<double> competing{value};
      for (const auto& t : study)
        if (t.number != trial.number && in_bracket(t))
          if (auto v = rung_value(t, rung); v && std::isfinite(*v)) competing.push_back(*v);
      if (!promotable(value, competing, direction)) return true;
    }
    return false;
  }

 private:
  bool promotable(double value, std::vector<double> competing, Direction direction) const {
    std::int64_t index = std::int64_t(competing.size()) / o_.reduction_factor - 1;
    if (index < 0) index = 0;  // too few trials at this rung yet: only the best so far continues
    std::sort(competing.begin(), competing.end());
    if (direction == Direction::maximize) return competing[competing.size() - 1 - std::size_t(index)] <= value;
    return value <= competing[std::size_t(index)];
  }

  SuccessiveHalvingOptions o_;
};

class SuccessiveHalvingPruner : public Pruner {
 public:
  explicit SuccessiveHalvingPruner(SuccessiveHalvingOptions options) : sh_(options) {}
  std::string name() const override { return "successive_halving"; }
  bool should_prune(const TrialRecord& trial, const std::vector<TrialRecord>& study, Direction direction) const override {
    return sh_.should_prune(trial, study, direction, [](const TrialRecord&) { return true; });
  }

 private:
  SuccessiveHalving sh_;
};

class HyperbandPruner : public Pruner {
 public:
  explicit HyperbandPruner(HyperbandOptions options) : o_(options) {}
  std::string name() const override { return "hyperband"; }
  bool should_prune(const TrialRecord& trial, const std::vector<TrialRecord>& study, Direction direction) const override {
    const std::int64_t bracket = hyperband_bracket(o_, trial.number);
    const SuccessiveHalving sh({o_.min_resource, o_.reduction_factor, bracket});
    return sh.should_prune(trial, study, direction,
                           [&](const TrialRecord& t) { return hyperband_bracket(o_, t.number) == bracket; });
  }

 private:
  HyperbandOptions o_;
};

}  // namespace

std::int64_t hyperband_bracket_count(const HyperbandOptions& o) {
  std::int64_t count = 1;
  for (std::int64_t r = o.min_resource * o.reduction_factor; r <= o.max_resource; r *= o.reduction_factor) ++count;
  return count;
}

std::int64_t hyperband_bracket(const HyperbandOptions& o, std::int64_t number) {
  const std::int64_t brackets = hyperband_bracket_count(o);
  std::vector<std::int64_t> sizes;
  std::int64_t total = 0;
  for (std::int64_t b = 0; b < brackets; ++b) {
    const std::int64_t s = brackets - 1 - b;
    const double size = std::ceil(double(brackets) / double(s + 1) * std::pow(double(o.reduction_factor), double(s)));
    sizes.push_back(std::int64_t(size));
    total += sizes.back();
  }
  std::int64_t slot = number % total;
  for (std::int64_t b = 0; b < brackets; ++b) {
    if (slot < sizes[std::size_t(b)]) return b;
    slot -= sizes[std::size_t(b)];
  }
  return brackets - 1;
}

std::unique_ptr<Pruner> make_median_pruner(MedianOptions options) { return std::make_unique<MedianPruner>(options); }
std::unique_ptr<Pruner> make_successive_halving_pruner(SuccessiveHalvingOptions options) {
  return std::make_unique<SuccessiveHalvingPruner>(options);
}
std::unique_ptr<Pruner> make_hyperband_pruner(HyperbandOptions options) {
  DESCENT_CHECK(options.max_resource >= options.min_resource, "tune.pruner.max_resource = ", options.max_resource,
                ": expected an integer >= min_resource (", options.min_resource, ")");
  return std::make_unique<HyperbandPruner>(options);
}

std::vector<std::string> pruner_names() { return {"median", "successive_halving", "asha", "hyperband"}; }

std::unique_ptr<Pruner> make_pruner(const std::string& name, const nlohmann::json& options, std::int64_t default_max_resource) {
  OptionTable t(options, "config", "tune.pruner");
  if (name == "median") {
    MedianOptions o;
    o.n_startup_trials = t.integer("n_startup_trials", o.n_startup_trials, 0);
    o.n_warmup_steps = t.integer("n_warmup_steps", o.n_warmup_steps, 0);
    o.interval_steps = t.integer("interval_steps", o.interval_steps, 1);
    o.n_min_trials = t.integer("n_min_trials", o.n_min_trials, 1);
    t.finish();
    return make_median_pruner(o);
  }
  if (name == "successive_halving" || name == "asha") {
    SuccessiveHalvingOptions o;
    o.min_resource = t.integer("min_resource", o.min_resource, 1);
    o.reduction_factor = t.integer("reduction_factor", o.reduction_factor, 2);
    o.min_early_stopping_rate = t.integer("min_early_stopping_rate", o.min_early_stopping_rate, 0);
    t.finish();
    return make_successive_halving_pruner(o);
  }
  if (name == "hyperband") {
    HyperbandOptions o;
    o.min_resource = t.integer("min_resource", o.min_resource, 1);
    o.max_resource = t.integer("max_resource", default_max_resource, 1);
    o.reduction_factor = t.integer("reduction_factor", o.reduction_factor, 2);
    t.finish();
    return make_hyperband_pruner(o);
  }
  const std::string suggestion = closest_match(name, pruner_names());
  throw Error("config: tune.pruner.name = \"" + name + "\": expected one of " + join(pruner_names()) +
              (suggestion.empty() ? "" : " (did you mean " + suggestion + "?)") + ", or no [tune.pruner]");
}

}  // namespace descent::tune
