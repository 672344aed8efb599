// The grid sampler enumerates exactly the (conditional) product, in a fixed order, resumes past
// configurations already tried and reports exhaustion.
#include <gtest/gtest.h>

#include <set>

#include "descent/core/error.hpp"
#include "descent/search/grid.hpp"

namespace descent::search {
namespace {

using nlohmann::json;

SearchSpace conditional_space() {
  return SearchSpace::from_json(json::parse(R"({
    "opt": {"type": "categorical", "choices": ["sgd", "adam"]},
    "momentum": {"type": "float", "low": 0.0, "high": 0.9, "condition": {"param": "opt", "values": ["sgd"]}},
    "lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": true},
    "layers": {"type": "int", "low": 1, "high": 2}
  })"));
}

TrialRecord trial(std::int64_t number, json params, TrialState state = TrialState::complete) {
  TrialRecord t;
  t.number = number;
  t.params = std::move(params);
  t.state = state;
  return t;
}

TEST(Grid, EnumeratesTheConditionalProductExactly) {
  const auto space = conditional_space();
  // opt=sgd: 3 momenta x 3 lrs x 2 layers = 18; opt=adam: 3 x 2 = 6.
  const auto configs = grid_configurations(space, 3);
  ASSERT_EQ(configs.size(), 24u);
  std::set<std::string> distinct;
  for (const auto& c : configs) {
    EXPECT_NO_THROW(space.validate(c)) << c.dump();
    distinct.insert(c.dump());
  }
  EXPECT_EQ(distinct.size(), 24u);
  std::set<double> lrs, momenta;
  for (const auto& c : configs) {
    lrs.insert(c["lr"].get<double>());
    if (c.contains("momentum")) momenta.insert(c["momentum"].get<double>());
  }
  EXPECT_EQ(momenta, (std::set<double>{0.0, 0.45, 0.9}));
  ASSERT_EQ(lrs.size(), 3u);
  EXPECT_NEAR(*std::next(lrs.begin()), 1e-2, 1e-15);  // log-spaced
  // Order: parents before children, otherwise by name (layers, lr, opt, then momentum), the last
  // varying fastest.
  EXPECT_EQ(configs[0], json::parse(R"({"layers": 1, "lr": 0.001, "opt": "sgd", "momentum": 0.0})"));
  EXPECT_EQ(configs[1]["momentum"], 0.45);
  EXPECT_EQ(configs[3], json::parse(R"({"layers": 1, "lr": 0.001, "opt": "adam"})"));
  EXPECT_NEAR(configs[4]["lr"].get<double>(), 1e-2, 1e-15);
  EXPECT_EQ(configs[11]["layers"], 1);
  EXPECT_EQ(configs[12]["layers"], 2);
  EXPECT_EQ(configs.back(), json::parse(R"({"layers": 2, "lr": 0.1, "opt": "adam"})"));
  EXPECT_FALSE(configs.back().contains("momentum"));
}

TEST(Grid, VisitsInOrderSkipsHistoryAndReportsExhaustion) {
  const auto space = conditional_space();
  const auto configs = grid_configurations(space, 3);
  GridSampler sampler(3);
  std::vector<TrialRecord> history;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    ASSERT_TRUE(sampler.has_next(space, history));
    const json params = sampler.sample(space, history, std::int64_t(i));
    EXPECT_EQ(params, configs[i]) << i;
    // Any state counts as tried: a failed or running configuration is not proposed again.
    history.push_back(trial(std::int64_t(i), params, i % 3 == 0 ? TrialState::failed : TrialState::running));
  }
  EXPECT_FALSE(sampler.has_next(space, history));
  EXPECT_THROW(sampler.sample(space, history, 24), Error);
}

TEST(Grid, ResumedStudyContinuesWithTheUntried) {
  const auto space = conditional_space();
  const auto configs = grid_configurations(space, 3);
  // A resumed study whose storage holds configurations 0, 1 and 5 (from JSON, as storage returns them).
  std::vector<TrialRecord> history = {trial(0, json::parse(configs[0].dump())), trial(1, configs[5]),
                                      trial(2, json::parse(configs[1].dump()))};
  GridSampler sampler(3);
  EXPECT_EQ(sampler.sample(space, history, 3), configs[2]);
  history.push_back(trial(3, configs[2]));
  EXPECT_EQ(sampler.sample(space, history, 4), configs[3]);
  history.push_back(trial(4, configs[3]));
  EXPECT_EQ(sampler.sample(space, history, 5), configs[4]);
  history.push_back(trial(5, configs[4]));
  EXPECT_EQ(sampler.sample(space, history, 6), configs[6]);
  // Storage that returns an int parameter as 2.0 still counts the configuration as tried.
  json as_float = configs[6];
  as_float["layers"] = double(as_float["layers"].get<int>());
  history.push_back(trial(6, as_float));
  EXPECT_EQ(sampler.sample(space, history, 7), configs[7]);
}

TEST(Grid, DiscreteParametersUseAllValuesWhenTheyFit) {
  const auto space = SearchSpace::from_json(json::parse(R"({
    "k": {"type": "int", "low": 0, "high": 6, "step": 2},
    "big": {"type": "int", "low": 1, "high": 1000, "log": true}
  })"));
  const auto configs = grid_configurations(space, 4);
  EXPECT_EQ(configs.size(), 16u);  // k: all 4 values; big: 4 log-spaced values 1, 10, 100, 1000
  std::set<int> bigs;
  for (const auto& c : configs) bigs.insert(c["big"].get<int>());
  EXPECT_EQ(bigs, (std::set<int>{1, 10, 100, 1000}));
}

TEST(Grid, RefusesAnEnormousGrid) {
  json spec = json::object();
  for (char name = 'a'; name < 'a' + 12; ++name) {
    spec[std::string(1, name)] = {{"type", "float"}, {"low", 0.0}, {"high", 1.0}};
  }
  const auto space = SearchSpace::from_json(spec);  // 5^12 = 244 million configurations
  try {
    GridSampler(5).has_next(space, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than 100000 "), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace descent::search
