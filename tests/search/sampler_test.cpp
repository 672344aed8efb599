// Every sampler, from one table: valid parameters (bounds, log, int, step, choices, exactly the
// active parameters), determinism, independence from the order trials are asked for; the factory's
// errors.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "descent/core/error.hpp"
#include "descent/search/sampler.hpp"

namespace descent::search {
namespace {

using nlohmann::json;

struct SamplerCase {
  std::string name;
  json options;
};

const std::vector<SamplerCase> kSamplers = {
    {"grid", {{"grid_points", 3}}},
    {"random", json::object()},
    {"sobol", json::object()},
    {"sobol", {{"scramble", true}, {"skip", 7}}},
    {"tpe", {{"n_startup_trials", 5}}},
    {"gp", {{"n_startup_trials", 5}, {"n_candidates", 200}, {"n_restarts", 2}}},
};

SearchSpace mixed_space() {
  return SearchSpace::from_json(json::parse(R"({
    "opt": {"type": "categorical", "choices": ["sgd", "adam", "lion"]},
    "lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": true},
    "momentum": {"type": "float", "low": 0.0, "high": 0.99, "condition": {"param": "opt", "values": ["sgd"]}},
    "beta2": {"type": "float", "low": 0.9, "high": 0.999, "step": 0.009,
              "condition": {"param": "opt", "values": ["adam", "lion"]}},
    "batch": {"type": "int", "low": 8, "high": 512, "log": true},
    "width": {"type": "int", "low": 16, "high": 128, "step": 16},
    "flag": {"type": "categorical", "choices": [true, 3, "x"]},
    "fixed": {"type": "float", "low": 0.3, "high": 0.3}
  })"));
}

// A made-up objective over the mixed space, so model-based samplers have something to fit.
double objective(const json& p) {
  double loss = std::pow(std::log10(p["lr"].get<double>()) + 2.5, 2) + p["width"].get<double>() / 128.0;
  if (p["opt"] == "sgd") loss += std::abs(p["momentum"].get<double>() - 0.9);
  if (p.contains("beta2")) loss += (p["beta2"].get<double>() - 0.9) * 3;
  return loss;
}

std::vector<TrialRecord> run_study(const SamplerCase& c, const SearchSpace& space, int trials, std::uint64_t seed) {
  auto sampler = make_sampler(c.name, c.options, Direction::minimize, seed);
  std::vector<TrialRecord> history;
  for (int n = 0; n < trials && sampler->has_next(space, history); ++n) {
    TrialRecord t;
    t.number = n;
    t.params = sampler->sample(space, history, n);
    t.state = n % 7 == 6 ? TrialState::pruned : TrialState::complete;
    if (t.state == TrialState::complete) {
      t.value = objective(t.params);
    } else {
      t.intermediate = {{1, objective(t.params) + 1.0}};
    }
    history.push_back(t);
  }
  return history;
}

TEST(Samplers, ProduceValidParametersWithExactlyTheActiveOnes) {
  const auto space = mixed_space();
  for (const auto& c : kSamplers) {
    SCOPED_TRACE(c.name + " " + c.options.dump());
    const auto history = run_study(c, space, 40, 11);
    ASSERT_GE(history.size(), 20u);
    std::set<json> optimizers;
    for (const auto& t : history) {
      EXPECT_NO_THROW(space.validate(t.params)) << t.params.dump();
      optimizers.insert(t.params["opt"]);
      EXPECT_EQ(t.params.contains("momentum"), t.params["opt"] == "sgd") << t.params.dump();
      EXPECT_EQ(t.params["fixed"], 0.3);
    }
    EXPECT_EQ(optimizers.size(), 3u) << "every branch of the condition is explored";
  }
}

TEST(Samplers, AreDeterministicGivenSeedNumberAndHistory) {
  const auto space = mixed_space();
  for (const auto& c : kSamplers) {
    SCOPED_TRACE(c.name + " " + c.options.dump());
    const auto history = run_study(c, space, 12, 5);
    EXPECT_EQ(history.size(), 12u);
    auto first = make_sampler(c.name, c.options, Direction::minimize, 5);
    auto second = make_sampler(c.name, c.options, Direction::minimize, 5);
    // Asking for later numbers first, or twice, changes nothing: samplers keep no state.
    const json late = first->sample(space, history, 12);
    EXPECT_EQ(first->sample(space, history, 12), late);
    EXPECT_EQ(second->sample(space, history, 12), late);
    // A fresh study with the same seed makes the same proposals.
    const auto again = run_study(c, space, 12, 5);
    for (std::size_t i = 0; i < history.size(); ++i) EXPECT_EQ(again[i].params, history[i].params) << i;
  }
}

TEST(Samplers, SeedChangesStochasticProposals) {
  const auto space = mixed_space();
  for (const auto& c : kSamplers) {
    if (c.name == "grid" || (c.name == "sobol" && !c.options.contains("scramble"))) continue;
    SCOPED_TRACE(c.name);
    auto a = make_sampler(c.name, c.options, Direction::minimize, 1);
    auto b = make_sampler(c.name, c.options, Direction::minimize, 2);
    EXPECT_NE(a->sample(space, {}, 0), b->sample(space, {}, 0));
  }
}

TEST(Samplers, RandomCoversLogRangeEvenlyAndIntsFairly) {
  const auto space = SearchSpace::from_json(json::parse(R"({
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": true},
    "k": {"type": "int", "low": 1, "high": 4}
  })"));
  auto sampler = make_sampler("random", json::object(), Direction::minimize, 3);
  std::vector<int> decades(4, 0), counts(5, 0);
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const json p = sampler->sample(space, {}, i);
    decades[std::min(3, int(std::floor(-std::log10(p["lr"].get<double>()))))]++;
    counts[p["k"].get<int>()]++;
  }
  // Binomial(4000, 1/4): sd about 27; 150 is more than 5 sd.
  for (int d = 0; d < 4; ++d) EXPECT_NEAR(decades[d], n / 4, 150) << "decade " << d;
  for (int k = 1; k <= 4; ++k) EXPECT_NEAR(counts[k], n / 4, 150) << "value " << k;
}

TEST(MakeSampler, ErrorsListTheValidNamesAndOptions) {
  try {
    make_sampler("bayes", json::object(), Direction::minimize, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown sampler 'bayes'; valid samplers: grid, random, sobol, tpe, gp"), std::string::npos) << e.what();
  }
  try {
    make_sampler("tpe", {{"n_startup", 3}}, Direction::minimize, 0);
    FAIL();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("sampler tpe: unknown key n_startup; valid keys: consider_endpoints, gamma_fraction"), std::string::npos) << message;
    EXPECT_NE(message.find("n_startup_trials"), std::string::npos) << message;
    EXPECT_NE(message.find("n_ei_candidates"), std::string::npos) << message;
  }
  try {
    make_sampler("grid", {{"grid_points", 0}}, Direction::minimize, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected an integer in [1, 1000]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_sampler("gp", {{"xi", "big"}}, Direction::minimize, 0), Error);
  EXPECT_THROW(make_sampler("random", json::array(), Direction::minimize, 0), Error);
  EXPECT_NO_THROW(make_sampler("random", nullptr, Direction::minimize, 0));
  EXPECT_EQ(make_sampler("sobol", nullptr, Direction::maximize, 0)->name(), "sobol");
}

}  // namespace
}  // namespace descent::search
