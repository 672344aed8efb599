// Model-based samplers must beat random search on cheap functions with a log-scaled parameter:
// the median, over several seeds, of the best value found in 30 trials.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>

#include "descent/search/sampler.hpp"

namespace descent::search {
namespace {

using nlohmann::json;

struct Problem {
  std::string name;
  json space;
  std::function<double(const json&)> objective;
  double optimum;
};

// A shifted quadratic in (log10 lr, x): minimum 0 at lr = 10^-2.7, x = 0.37.
Problem shifted_quadratic() {
  return {"quadratic",
          json::parse(R"({"lr": {"type": "float", "low": 1e-6, "high": 1.0, "log": true},
                          "x": {"type": "float", "low": -2.0, "high": 2.0}})"),
          [](const json& p) {
            const double u = std::log10(p["lr"].get<double>()) + 2.7;
            const double v = p["x"].get<double>() - 0.37;
            return u * u / 9.0 + v * v;
          },
          0.0};
}

// Branin (minimum 0.397887) with x1 in [-5, 10] read as log10 of a log-scaled parameter shifted
// by 6: the sampler sees "a" in [10^1, 10^16] on a log scale; x2 is an int in [0, 15].
Problem log_branin() {
  return {"branin",
          json::parse(R"({"a": {"type": "float", "low": 10.0, "high": 1e16, "log": true},
                          "b": {"type": "int", "low": 0, "high": 15}})"),
          [](const json& p) {
            const double x1 = std::log10(p["a"].get<double>()) - 6.0;
            const double x2 = p["b"].get<double>();
            const double pi = std::numbers::pi;
            const double t = x2 - 5.1 / (4 * pi * pi) * x1 * x1 + 5 / pi * x1 - 6;
            return t * t + 10 * (1 - 1 / (8 * pi)) * std::cos(x1) + 10;
          },
          0.397887};
}

double best_after(const std::string& sampler_name, const json& options, const Problem& problem, int trials,
                  std::uint64_t seed, Direction direction = Direction::minimize) {
  const auto space = SearchSpace::from_json(problem.space);
  auto sampler = make_sampler(sampler_name, options, direction, seed);
  const double sign = direction == Direction::minimize ? 1.0 : -1.0;
  std::vector<TrialRecord> history;
  double best = INFINITY;
  for (int n = 0; n < trials; ++n) {
    TrialRecord t;
    t.number = n;
    t.params = sampler->sample(space, history, n);
    space.validate(t.params);
    t.state = TrialState::complete;
    const double loss = problem.objective(t.params);
    t.value = sign * loss;
    best = std::min(best, loss);
    history.push_back(t);
  }
  return best;
}

double median_best(const std::string& sampler_name, const json& options, const Problem& problem, int seeds,
                   Direction direction = Direction::minimize) {
  std::vector<double> bests;
  for (int s = 0; s < seeds; ++s) bests.push_back(best_after(sampler_name, options, problem, 30, 100 + s, direction));
  std::nth_element(bests.begin(), bests.begin() + seeds / 2, bests.end());
  return bests[seeds / 2];
}

// Medians over 9 seeds. Measured over 4 other batches of 9 seeds: random 0.036-0.068 (quadratic)
// and 1.42-4.44 (Branin), TPE 0.005-0.029 and 0.63-0.96, GP below 1e-4 and 0.44-0.46; TPE's median
// beat random's in every batch, GP's by a wide margin.
TEST(Optimization, TpeAndGpBeatRandomSearchInThirtyTrials) {
  for (const auto& problem : {shifted_quadratic(), log_branin()}) {
    SCOPED_TRACE(problem.name);
    const double random = median_best("random", json::object(), problem, 9);
    const double tpe = median_best("tpe", json::object(), problem, 9);
    const double gp = median_best("gp", json::object(), problem, 9);
    EXPECT_LT(tpe, random);
    EXPECT_LT(gp, random);
    EXPECT_LT(gp, 0.5 * (random + problem.optimum));  // more than halfway from random's to the optimum
  }
}

TEST(Optimization, MaximizingTheNegationMakesTheSameProposals) {
  for (const char* name : {"tpe", "gp"}) {
    const auto problem = shifted_quadratic();
    EXPECT_EQ(best_after(name, json::object(), problem, 15, 4, Direction::minimize),
              best_after(name, json::object(), problem, 15, 4, Direction::maximize))
        << name;
  }
}

}  // namespace
}  // namespace descent::search
