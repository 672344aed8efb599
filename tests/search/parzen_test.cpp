// TPE's Parzen estimators against values worked out by hand from Optuna's rules, and their
// normalisation; TPE's startup phase, conditional parameters and use of pruned trials.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/search/parzen.hpp"
#include "descent/search/random.hpp"
#include "descent/search/tpe.hpp"
#include "search/trials.hpp"

namespace descent::search {
namespace {

using nlohmann::json;

ParamSpec param(const json& entry) { return SearchSpace::from_json({{"p", entry}}).at("p"); }

TEST(Parzen, ObservationWeightsRampTheOldestBeyondTwentyFive) {
  EXPECT_EQ(parzen_observation_weights(3), (std::vector<double>{1, 1, 1}));
  const auto w = parzen_observation_weights(30);  // numpy.linspace(1/30, 1, 5) then 25 ones
  ASSERT_EQ(w.size(), 30u);
  EXPECT_DOUBLE_EQ(w[0], 1.0 / 30);
  EXPECT_DOUBLE_EQ(w[2], 1.0 / 30 + (1 - 1.0 / 30) / 2);
  EXPECT_DOUBLE_EQ(w[4], 1.0);
  EXPECT_DOUBLE_EQ(w[29], 1.0);
}

TEST(Parzen, NumericKernelsByHand) {
  const auto p = param({{"type", "float"}, {"low", 0.0}, {"high", 1.0}});
  const ParzenEstimator estimator(p, {0.2, 0.5}, 1.0, false);
  // Sorted with the ends: 0, 0.2, 0.5, 1. Neighbour distances give 0.3 and 0.5, but without
  // consider_endpoints the outer kernels use their inner neighbour: 0.3 and 0.3. Clip to
  // [1 / min(100, 1 + 3), 1] = [0.25, 1] keeps them. Prior: centre 0.5, sigma 1.
  EXPECT_EQ(estimator.mus(), (std::vector<double>{0.2, 0.5, 0.5}));
  ASSERT_EQ(estimator.sigmas().size(), 3u);
  EXPECT_DOUBLE_EQ(estimator.sigmas()[0], 0.3);
  EXPECT_DOUBLE_EQ(estimator.sigmas()[1], 0.3);
  EXPECT_DOUBLE_EQ(estimator.sigmas()[2], 1.0);
  for (double w : estimator.weights()) EXPECT_DOUBLE_EQ(w, 1.0 / 3);
  const ParzenEstimator with_ends(p, {0.2, 0.5}, 1.0, true);
  EXPECT_DOUBLE_EQ(with_ends.sigmas()[1], 0.5);
  // A lone close pair gets the minimum sigma.
  const ParzenEstimator close(p, {0.50, 0.51, 0.52}, 1.0, false);
  EXPECT_DOUBLE_EQ(close.sigmas()[1], 1.0 / 5);
}

TEST(Parzen, ContinuousDensityIntegratesToOneOverTheRangeInLogSpace) {
  const auto p = param({{"type", "float"}, {"low", 1e-3}, {"high", 1.0}, {"log", true}});
  const ParzenEstimator estimator(p, {1e-2, 2e-2, 0.5}, 1.0, false);
  // Integrate the density over internal coordinates t = log x.
  const int steps = 20000;
  const double a = std::log(1e-3), b = 0.0;
  double integral = 0.0;
  for (int i = 0; i < steps; ++i) {
    const double t = a + (b - a) * (i + 0.5) / steps;
    integral += std::exp(estimator.log_pdf(std::exp(t))) * (b - a) / steps;
  }
  EXPECT_NEAR(integral, 1.0, 1e-3);
}

TEST(Parzen, DiscreteProbabilitiesSumToOne) {
  for (const json& entry : {json{{"type", "int"}, {"low", 1}, {"high", 64}, {"log", true}},
                            json{{"type", "int"}, {"low", 0}, {"high", 20}, {"step", 4}},
                            json{{"type", "float"}, {"low", 0.0}, {"high", 1.0}, {"step", 0.25}}}) {
    const auto p = param(entry);
    const ParzenEstimator estimator(p, {p.from_unit(0.1), p.from_unit(0.15), p.from_unit(0.9)}, 1.0, false);
    double total = 0.0;
    for (const json& v : p.grid_values(1000)) total += std::exp(estimator.log_pdf(v));
    EXPECT_NEAR(total, 1.0, 1e-9) << entry.dump();
  }
}

TEST(Parzen, CategoricalProbabilitiesByHand) {
  const auto p = param({{"type", "categorical"}, {"choices", {"a", "b", "c"}}});
  const ParzenEstimator estimator(p, {"a", "a", "c"}, 1.0, false);
  // 4 kernels: each observation puts 1 on its choice + 1/4 on every choice (normalised by 1.75);
  // the prior is uniform; mixture weights 1/4.
  const auto& probabilities = estimator.choice_probabilities();
  EXPECT_NEAR(probabilities[0], 0.25 * (2.75 / 1.75 + 1.0 / 3), 1e-15);
  EXPECT_NEAR(probabilities[1], 0.25 * (0.75 / 1.75 + 1.0 / 3), 1e-15);
  EXPECT_NEAR(probabilities[2], 0.25 * (1.75 / 1.75 + 1.0 / 3), 1e-15);
  EXPECT_NEAR(estimator.log_pdf("b"), std::log(probabilities[1]), 1e-15);
}

TEST(Parzen, SamplesFollowTheMixture) {
  const auto p = param({{"type", "float"}, {"low", 0.0}, {"high", 1.0}});
  const ParzenEstimator estimator(p, {0.2, 0.21, 0.22, 0.23}, 0.01, false);
  Generator generator(9);
  int near = 0;
  for (int i = 0; i < 2000; ++i) {
    const double x = estimator.sample(generator).get<double>();
    ASSERT_GE(x, 0.0);
    ASSERT_LE(x, 1.0);
    near += std::abs(x - 0.215) < 0.2;  // sigmas are 1/6 (the clip floor): most mass is near
  }
  EXPECT_GT(near, 1300);
}

TEST(Tpe, DrawsRandomlyUntilEnoughTrialsAreObserved) {
  const auto space = SearchSpace::from_json({{"x", {{"type", "float"}, {"low", 0.0}, {"high", 1.0}}}});
  TpeSampler tpe({.n_startup_trials = 3}, Direction::minimize, 8);
  std::vector<TrialRecord> history = {complete(0, {{"x", 0.1}}, 1.0), complete(1, {{"x", 0.2}}, 2.0)};
  TrialRecord running;
  running.number = 2;
  running.params = {{"x", 0.3}};
  history.push_back(running);  // running trials do not count
  Generator generator = trial_generator(8, 3);
  EXPECT_EQ(tpe.sample(space, history, 3), sample_uniform(space, generator));
}

TEST(Tpe, ConcentratesWhereTheGoodTrialsAreAndIgnoresInactiveOnes) {
  const auto space = SearchSpace::from_json(json::parse(R"({
    "kind": {"type": "categorical", "choices": ["a", "b"]},
    "x": {"type": "float", "low": 0.0, "high": 1.0, "condition": {"param": "kind", "values": ["a"]}}
  })"));
  std::vector<TrialRecord> history;
  // "a" with x near 0.5 is good (x evenly over [0, 1]); "b" is always bad.
  for (int j = 0; j < 15; ++j) {
    const double x = j / 15.0 + 1.0 / 30;
    history.push_back(complete(2 * j, {{"kind", "a"}, {"x", x}}, std::abs(x - 0.5)));
    history.push_back(complete(2 * j + 1, {{"kind", "b"}}, 5.0));
  }
  TpeSampler tpe({}, Direction::minimize, 1);
  int a = 0, near = 0;
  for (int n = 30; n < 130; ++n) {
    const json p = tpe.sample(space, history, n);
    if (p["kind"] == "a") {
      ++a;
      near += std::abs(p["x"].get<double>() - 0.5) < 0.15;
    } else {
      EXPECT_FALSE(p.contains("x"));
    }
  }
  EXPECT_GT(a, 80);
  EXPECT_GT(near, a * 2 / 3);
}

// Pruned trials count at their last intermediate value (as if complete with it); pruned trials
// without intermediate values, failed and running trials are ignored.
TEST(Tpe, PrunedTrialsCountAtTheirLastIntermediateValue) {
  const auto space = SearchSpace::from_json({{"x", {{"type", "float"}, {"low", 0.0}, {"high", 1.0}}}});
  std::vector<TrialRecord> base;
  for (int i = 0; i < 12; ++i) base.push_back(complete(i, {{"x", 0.08 * i}}, std::abs(0.08 * i - 0.3)));
  TrialRecord pruned;
  pruned.number = 12;
  pruned.state = TrialState::pruned;
  pruned.params = {{"x", 0.9}};
  pruned.intermediate = {{1, 3.0}, {2, 0.01}};
  auto with = [&](const TrialRecord& extra) {
    auto history = base;
    history.push_back(extra);
    return history;
  };
  TpeSampler tpe({}, Direction::minimize, 2);
  const json from_pruned = tpe.sample(space, with(pruned), 13);
  EXPECT_EQ(from_pruned, tpe.sample(space, with(complete(12, {{"x", 0.9}}, 0.01)), 13));
  EXPECT_NE(from_pruned, tpe.sample(space, base, 13));
  TrialRecord ignored = pruned;
  ignored.intermediate.clear();
  EXPECT_EQ(tpe.sample(space, with(ignored), 13), tpe.sample(space, base, 13));
  ignored = complete(12, {{"x", 0.9}}, 0.01);
  ignored.state = TrialState::failed;
  EXPECT_EQ(tpe.sample(space, with(ignored), 13), tpe.sample(space, base, 13));
  ignored.state = TrialState::running;
  EXPECT_EQ(tpe.sample(space, with(ignored), 13), tpe.sample(space, base, 13));
}

}  // namespace
}  // namespace descent::search
