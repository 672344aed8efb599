// Search space parsing, error messages, transforms, conditions and validation.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/error.hpp"
#include "descent/search/space.hpp"
#include "descent/search/trial.hpp"

namespace descent::search {
namespace {

using nlohmann::json;

json optimizer_space() {
  return json::parse(R"({
    "optimizer.name": {"type": "categorical", "choices": ["sgd", "adam"]},
    "optimizer.options.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": true},
    "optimizer.options.momentum": {"type": "float", "low": 0.0, "high": 0.99,
                                   "condition": {"param": "optimizer.name", "values": ["sgd"]}},
    "optimizer.options.nesterov": {"type": "categorical", "choices": [true, false],
                                   "condition": {"param": "optimizer.options.momentum", "values": [0.0]}},
    "train.batch_size": {"type": "int", "low": 16, "high": 256, "log": true},
    "model.width": {"type": "int", "low": 32, "high": 512, "step": 32},
    "train.dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1}
  })");
}

// The message of the descent::Error that parsing `spec` throws (fails the test if none).
std::string parse_error(const json& spec) {
  try {
    SearchSpace::from_json(spec);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an error for " << spec.dump();
  return "";
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "\"" << text << "\" lacks \"" << part << "\"";
}

TEST(SearchSpace, ParsesEveryKindAndOrdersParentsFirst) {
  const auto space = SearchSpace::from_json(optimizer_space());
  ASSERT_EQ(space.size(), 7u);
  const auto names = space.names();
  auto position = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  EXPECT_LT(position("optimizer.name"), position("optimizer.options.momentum"));
  EXPECT_LT(position("optimizer.options.momentum"), position("optimizer.options.nesterov"));
  const auto& lr = space.at("optimizer.options.lr");
  EXPECT_EQ(lr.type, ParamType::real);
  EXPECT_TRUE(lr.log);
  EXPECT_FALSE(lr.cardinality());
  EXPECT_EQ(space.at("model.width").cardinality(), 16u);
  EXPECT_EQ(space.at("train.dropout").cardinality(), 6u);
  EXPECT_EQ(space.at("train.batch_size").step, 1.0);
}

TEST(SearchSpace, RoundTripsThroughJson) {
  const auto space = SearchSpace::from_json(optimizer_space());
  const auto again = SearchSpace::from_json(space.to_json());
  EXPECT_EQ(again.to_json(), space.to_json());
  EXPECT_EQ(space.to_json()["optimizer.options.momentum"]["condition"]["values"], json::array({"sgd"}));
}

TEST(SearchSpace, ErrorsNameParameterKeyValueAndExpectedForm) {
  auto one = [](json entry) { return json{{"p", entry}}; };
  std::string e = parse_error(one({{"type", "float"}, {"low", 1.0}, {"high", 0.5}}));
  expect_contains(e, "search space: p.high = 0.5");
  expect_contains(e, "0.5");
  expect_contains(e, ">= low");

  e = parse_error(one({{"type", "float"}, {"low", 0.0}, {"high", 1.0}, {"log", true}}));
  expect_contains(e, "p.low = 0.0");
  expect_contains(e, "> 0");

  e = parse_error(one({{"type", "int"}, {"low", 1.5}, {"high", 4}}));
  expect_contains(e, "1.5");
  expect_contains(e, "expected an integer");

  e = parse_error(one({{"type", "int"}, {"low", 0}, {"high", 10}, {"step", 3}}));
  expect_contains(e, "p.step = 3");
  expect_contains(e, "divides high - low (10)");

  e = parse_error(one({{"type", "int"}, {"low", 1}, {"high", 9}, {"log", true}, {"step", 2}}));
  expect_contains(e, "expected 1");

  e = parse_error(one({{"type", "float"}, {"low", 0.0}, {"high", 1.0}, {"choices", json::array({1})}}));
  expect_contains(e, "unknown key p.choices");
  expect_contains(e, "valid keys: condition, high, log, low, step, type");

  e = parse_error(one({{"type", "categorical"}, {"choices", json::array()}}));
  expect_contains(e, "non-empty array");

  e = parse_error(one({{"type", "categorical"}, {"choices", json::array({"a", "a"})}}));
  expect_contains(e, "appears twice");

  e = parse_error(one({{"type", "categorical"}, {"choices", json::array({json::array({1})})}}));
  expect_contains(e, "[1]");

  e = parse_error(one({{"type", "uniform"}, {"low", 0}, {"high", 1}}));
  expect_contains(e, "\"uniform\"");
  expect_contains(e, "expected one of float, int, categorical");

  e = parse_error(json::array());
  expect_contains(e, "expected an object of parameters");
}

TEST(SearchSpace, ConditionErrors) {
  json spec = optimizer_space();
  spec["optimizer.options.momentum"]["condition"]["param"] = "optimizer.kind";
  expect_contains(parse_error(spec), "momentum.condition.param = \"optimizer.kind\": expected one of the space's parameters");

  spec = optimizer_space();
  spec["optimizer.options.momentum"]["condition"]["values"] = json::array({"rmsprop"});
  expect_contains(parse_error(spec), "expected values of optimizer.name (\"rmsprop\" is not one)");

  spec = optimizer_space();
  spec["optimizer.name"]["condition"] = {{"param", "optimizer.options.nesterov"}, {"values", json::array({true})}};
  expect_contains(parse_error(spec), "form a cycle");

  spec = optimizer_space();
  spec["optimizer.name"]["condition"] = {{"param", "optimizer.name"}, {"values", json::array({"sgd"})}};
  expect_contains(parse_error(spec), "cannot depend on itself");
}

TEST(SearchSpace, ActivityFollowsConditionChains) {
  const auto space = SearchSpace::from_json(optimizer_space());
  json params = {{"optimizer.name", "sgd"}, {"optimizer.options.momentum", 0.0}};
  EXPECT_TRUE(space.is_active("optimizer.options.momentum", params));
  EXPECT_TRUE(space.is_active("optimizer.options.nesterov", params));
  params["optimizer.options.momentum"] = 0.5;
  EXPECT_FALSE(space.is_active("optimizer.options.nesterov", params));
  // A stale child value does not make a grandchild active once the parent switches away.
  params = {{"optimizer.name", "adam"}, {"optimizer.options.momentum", 0.0}};
  EXPECT_FALSE(space.is_active("optimizer.options.momentum", params));
  EXPECT_FALSE(space.is_active("optimizer.options.nesterov", params));
  EXPECT_TRUE(space.is_active("optimizer.options.lr", json::object()));
  EXPECT_THROW(space.is_active("nope", params), Error);
}

TEST(SearchSpace, ValidateChecksValuesAndActivity) {
  const auto space = SearchSpace::from_json(optimizer_space());
  json good = {{"optimizer.name", "adam"}, {"optimizer.options.lr", 1e-3}, {"train.batch_size", 64},
               {"model.width", 96}, {"train.dropout", 0.3}};
  EXPECT_NO_THROW(space.validate(good));
  auto invalid = [&](json params, const std::string& part) {
    try {
      space.validate(params);
      ADD_FAILURE() << "expected an error for " << params.dump();
    } catch (const Error& e) {
      expect_contains(e.what(), part);
    }
  };
  json bad = good;
  bad["optimizer.options.momentum"] = 0.9;
  invalid(bad, "inactive");
  bad = good;
  bad.erase("optimizer.options.lr");
  invalid(bad, "\"optimizer.options.lr\" is missing");
  bad = good;
  bad["model.width"] = 100;
  invalid(bad, "\"model.width\" = 100 is not valid");
  bad = good;
  bad["train.batch_size"] = 64.5;
  invalid(bad, "is not valid");
  bad = good;
  bad["optimizer.options.lr"] = 0.5;
  invalid(bad, "is not valid");
  bad = good;
  bad["train.epochs"] = 3;
  invalid(bad, "\"train.epochs\" is not a parameter");
}

TEST(ParamSpec, TransformsRoundTripAndRespectCells) {
  const auto space = SearchSpace::from_json(optimizer_space());
  const auto& batch = space.at("train.batch_size");
  EXPECT_DOUBLE_EQ(batch.internal_low(), std::log(15.5));
  EXPECT_DOUBLE_EQ(batch.internal_high(), std::log(256.5));
  EXPECT_EQ(batch.from_unit(0.0), 16);
  EXPECT_EQ(batch.from_unit(1.0), 256);
  for (int v : {16, 17, 100, 255, 256}) EXPECT_EQ(batch.from_internal(batch.to_internal(v)), v);

  const auto& width = space.at("model.width");
  EXPECT_DOUBLE_EQ(width.internal_low(), 16.0);
  EXPECT_DOUBLE_EQ(width.internal_high(), 528.0);
  EXPECT_EQ(width.from_unit(0.0), 32);
  EXPECT_EQ(width.from_unit(0.999), 512);
  EXPECT_EQ(width.from_internal(79.0), 64);
  EXPECT_EQ(width.from_internal(81.0), 96);

  const auto& dropout = space.at("train.dropout");
  EXPECT_TRUE(dropout.accepts(dropout.from_unit(0.55)));
  EXPECT_NEAR(dropout.from_unit(0.55).get<double>(), 0.3, 1e-12);  // cells of 0.1 from -0.05 to 0.55

  const auto& lr = space.at("optimizer.options.lr");
  EXPECT_NEAR(lr.from_unit(0.5).get<double>(), std::sqrt(1e-4 * 1e-1), 1e-12);
  EXPECT_NEAR(lr.to_unit(1e-2), 2.0 / 3.0, 1e-12);

  const auto& name = space.at("optimizer.name");
  EXPECT_EQ(name.from_unit(0.49), "sgd");
  EXPECT_EQ(name.from_unit(0.51), "adam");
  EXPECT_DOUBLE_EQ(name.to_unit("adam"), 0.75);
}

TEST(ParamSpec, GridValues) {
  const auto space = SearchSpace::from_json(optimizer_space());
  EXPECT_EQ(space.at("optimizer.name").grid_values(1), (std::vector<json>{"sgd", "adam"}));
  EXPECT_EQ(space.at("train.batch_size").grid_values(5), (std::vector<json>{16, 32, 64, 128, 256}));
  const auto small_log = SearchSpace::from_json({{"k", {{"type", "int"}, {"low", 2}, {"high", 5}, {"log", true}}}});
  EXPECT_EQ(small_log.at("k").grid_values(5), (std::vector<json>{2, 3, 4, 5}));
  const auto lr = space.at("optimizer.options.lr").grid_values(4);
  ASSERT_EQ(lr.size(), 4u);
  EXPECT_NEAR(lr[1].get<double>(), 1e-3, 1e-15);
  EXPECT_NEAR(lr[3].get<double>(), 1e-1, 1e-15);
  EXPECT_EQ(space.at("train.dropout").grid_values(10).size(), 6u);  // all 6 values when they fit
  const auto coarse = space.at("train.dropout").grid_values(4);  // 0, 1/6, 1/3, 1/2 snapped to steps
  ASSERT_EQ(coarse.size(), 4u);
  EXPECT_NEAR(coarse[1].get<double>(), 0.2, 1e-12);
  EXPECT_NEAR(coarse[2].get<double>(), 0.3, 1e-12);
  for (const auto& v : coarse) EXPECT_TRUE(space.at("train.dropout").accepts(v)) << v;
}

TEST(ParamSpec, SteppedFloatsAreTheDecimalsTheyStandFor) {
  const auto space = SearchSpace::from_json({{"x", {{"type", "float"}, {"low", 0.1}, {"high", 0.9}, {"step", 0.1}}}});
  const auto& x = space.at("x");
  const auto values = x.grid_values(9);
  ASSERT_EQ(values.size(), 9u);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string expected = "0." + std::to_string(i + 1);
    EXPECT_EQ(values[i].dump(), expected);
    EXPECT_EQ(x.from_unit(x.to_unit(values[i])).dump(), expected);
    EXPECT_TRUE(x.accepts(values[i]));
  }
}

TEST(Trial, ObservedLossOrientsAndUsesPrunedTrialsLastValue) {
  TrialRecord complete{0, TrialState::complete, json::object(), 2.0, {}};
  EXPECT_EQ(observed_loss(complete, Direction::minimize), 2.0);
  EXPECT_EQ(observed_loss(complete, Direction::maximize), -2.0);
  TrialRecord pruned{1, TrialState::pruned, json::object(), std::nullopt, {{1, 5.0}, {2, 4.0}}};
  EXPECT_EQ(observed_loss(pruned, Direction::minimize), 4.0);
  pruned.intermediate.clear();
  EXPECT_FALSE(observed_loss(pruned, Direction::minimize));
  TrialRecord running{2, TrialState::running, json::object(), std::nullopt, {{1, 1.0}}};
  EXPECT_FALSE(observed_loss(running, Direction::minimize));
  TrialRecord diverged{3, TrialState::complete, json::object(), NAN, {}};
  EXPECT_FALSE(observed_loss(diverged, Direction::minimize));
  EXPECT_EQ(direction_from_string("maximize"), Direction::maximize);
  EXPECT_THROW(direction_from_string("up"), Error);
  EXPECT_EQ(trial_state_from_string(to_string(TrialState::pruned)), TrialState::pruned);
}

}  // namespace
}  // namespace descent::search
