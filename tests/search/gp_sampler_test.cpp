// The GP sampler's input encoding, its startup phase and which trials it learns from.
#include <gtest/gtest.h>

#include "descent/search/gp.hpp"
#include "descent/search/random.hpp"
#include "search/trials.hpp"

namespace descent::search {
namespace {

using nlohmann::json;

SearchSpace conditional_space() {
  return SearchSpace::from_json(json::parse(R"({
    "opt": {"type": "categorical", "choices": ["sgd", "adam", "lion"]},
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": true},
    "momentum": {"type": "float", "low": 0.0, "high": 1.0, "condition": {"param": "opt", "values": ["sgd"]}}
  })"));
}

TEST(GpFeatures, UnitCoordinatesOneHotAndInactiveDefaults) {
  const auto space = conditional_space();  // order: lr, opt, momentum
  EXPECT_EQ(gp_features(space, {{"opt", "sgd"}, {"lr", 1e-2}, {"momentum", 0.25}}),
            (std::vector<double>{0.5, 1, 0, 0, 0.25}));
  EXPECT_EQ(gp_features(space, {{"opt", "lion"}, {"lr", 1.0}}), (std::vector<double>{1.0, 0, 0, 1, 0.5}));
  // A value outside the space (an older study) reads as inactive.
  EXPECT_EQ(gp_features(space, {{"opt", "rmsprop"}, {"lr", 1e-4}}), (std::vector<double>{0.0, 0, 0, 0, 0.5}));
}

TEST(GpSampler, StartsRandomThenLearnsFromCompleteAndPrunedTrials) {
  const auto space = conditional_space();
  GpSampler gp({.n_startup_trials = 4, .n_candidates = 300, .n_restarts = 2, .xi = 0.0}, Direction::minimize, 6);
  std::vector<TrialRecord> history;
  Generator startup = trial_generator(6, 0);
  EXPECT_EQ(gp.sample(space, history, 0), sample_uniform(space, startup));
  Generator draws(99);
  for (int i = 0; i < 8; ++i) {
    json p = sample_uniform(space, draws);
    history.push_back(complete(i, p, std::pow(std::log10(p["lr"].get<double>()) + 2, 2)));
  }
  TrialRecord pruned;
  pruned.number = 8;
  pruned.state = TrialState::pruned;
  pruned.params = {{"opt", "adam"}, {"lr", 1e-2}};
  pruned.intermediate = {{3, 0.02}};
  auto with = [&](const TrialRecord& extra) {
    auto h = history;
    h.push_back(extra);
    return h;
  };
  const json proposal = gp.sample(space, with(pruned), 9);
  EXPECT_NO_THROW(space.validate(proposal));
  EXPECT_EQ(proposal, gp.sample(space, with(complete(8, pruned.params, 0.02)), 9));
  TrialRecord failed = complete(8, pruned.params, 0.02);
  failed.state = TrialState::failed;
  EXPECT_EQ(gp.sample(space, with(failed), 9), gp.sample(space, history, 9));
  EXPECT_NE(proposal, gp.sample(space, history, 9));
}

}  // namespace
}  // namespace descent::search
