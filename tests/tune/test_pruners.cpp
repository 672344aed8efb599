// Each pruner's decision on small hand-written histories, worked out by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/error.hpp"
#include "descent/tune/pruner.hpp"

namespace descent::tune {
namespace {

using search::Direction;
using search::TrialRecord;
using search::TrialState;

TrialRecord trial(std::int64_t number, TrialState state, std::vector<std::pair<std::int64_t, double>> values) {
  TrialRecord t;
  t.number = number;
  t.state = state;
  t.intermediate = std::move(values);
  if (state == TrialState::complete && !t.intermediate.empty()) t.value = t.intermediate.back().second;
  return t;
}

TEST(MedianPruner, ComparesTheBestSoFarWithTheMedianOfCompleteTrialsAtTheStep) {
  MedianOptions o;
  o.n_startup_trials = 2;
  auto pruner = make_median_pruner(o);
  // Complete trials at step 2: 1.0, 3.0, 5.0 (median 3.0). A pruned trial's 0.1 does not count.
  std::vector<TrialRecord> study{trial(0, TrialState::complete, {{1, 2.0}, {2, 1.0}}),
                                 trial(1, TrialState::complete, {{1, 4.0}, {2, 3.0}}),
                                 trial(2, TrialState::complete, {{1, 6.0}, {2, 5.0}}),
                                 trial(3, TrialState::pruned, {{1, 0.1}, {2, 0.1}})};
  // Best so far 2.9 < 3.0: continues. Best so far 3.5 > 3.0: pruned.
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{1, 2.9}, {2, 3.2}}), study, Direction::minimize));
  EXPECT_TRUE(pruner->should_prune(trial(9, TrialState::running, {{1, 3.6}, {2, 3.5}}), study, Direction::minimize));
  // Maximizing: the same median, the better side flips. Best so far max(3.6, 3.5) = 3.6 > 3.0 continues.
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{1, 3.6}, {2, 3.5}}), study, Direction::maximize));
  EXPECT_TRUE(pruner->should_prune(trial(9, TrialState::running, {{1, 2.0}, {2, 2.9}}), study, Direction::maximize));
  // Two complete trials at the step: median is their mean (1.0 + 3.0) / 2 = 2.0.
  study.pop_back();
  study.pop_back();
  EXPECT_TRUE(pruner->should_prune(trial(9, TrialState::running, {{2, 2.1}}), study, Direction::minimize));
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{2, 1.9}}), study, Direction::minimize));
  // A non-finite report is pruned at once.
  EXPECT_TRUE(pruner->should_prune(trial(9, TrialState::running, {{2, std::nan("")}}), study, Direction::minimize));
}

TEST(MedianPruner, WaitsForStartupTrialsWarmupAndTheInterval) {
  std::vector<TrialRecord> study{trial(0, TrialState::complete, {{1, 1.0}, {2, 1.0}, {3, 1.0}, {4, 1.0}}),
                                 trial(1, TrialState::complete, {{1, 1.0}, {2, 1.0}, {3, 1.0}, {4, 1.0}})};
  const TrialRecord bad = trial(9, TrialState::running, {{1, 5.0}});
  MedianOptions o;
  o.n_startup_trials = 3;  // only two complete
  EXPECT_FALSE(make_median_pruner(o)->should_prune(bad, study, Direction::minimize));
  o.n_startup_trials = 2;
  EXPECT_TRUE(make_median_pruner(o)->should_prune(bad, study, Direction::minimize));
  o.n_warmup_steps = 2;  // step 1 < 2
  EXPECT_FALSE(make_median_pruner(o)->should_prune(bad, study, Direction::minimize));
  // Interval 2 after warm-up 0: boundaries at 0, 2, 4. Step 3 follows a report at 2 (>= boundary 2): skipped;
  // step 4 is the first report at or past boundary 4: judged.
  o.n_warmup_steps = 0;
  o.interval_steps = 2;
  EXPECT_FALSE(make_median_pruner(o)->should_prune(trial(9, TrialState::running, {{1, 5}, {2, 5}, {3, 5}}), study,
                                                    Direction::minimize));
  EXPECT_TRUE(make_median_pruner(o)->should_prune(trial(9, TrialState::running, {{1, 5}, {2, 5}, {3, 5}, {4, 5}}), study,
                                                   Direction::minimize));
  // n_min_trials: three complete trials must have reported at the step.
  o.interval_steps = 1;
  o.n_min_trials = 3;
  EXPECT_FALSE(make_median_pruner(o)->should_prune(bad, study, Direction::minimize));
}

TEST(SuccessiveHalving, PromotesTheTopFractionOfEachRung) {
  // min_resource 1, eta 2, rate 0: rungs at steps 1, 2, 4, 8.
  auto pruner = make_successive_halving_pruner({1, 2, 0});
  std::vector<TrialRecord> study{trial(0, TrialState::complete, {{1, 1.0}, {2, 0.8}, {3, 0.7}, {4, 0.6}}),
                                 trial(1, TrialState::pruned, {{1, 2.0}, {2, 1.5}}),
                                 trial(2, TrialState::running, {{1, 3.0}})};
  // Rung 0 (step 1): competing {1.0, 2.0, 3.0, x}; index 4 / 2 - 1 = 1, the second smallest.
  // x = 1.5: sorted {1.0, 1.5, 2.0, 3.0}, second is 1.5, 1.5 <= 1.5 promoted.
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{1, 1.5}}), study, Direction::minimize));
  // x = 2.5: sorted {1.0, 2.0, 2.5, 3.0}, second is 2.0 < 2.5: pruned.
  EXPECT_TRUE(pruner->should_prune(trial(9, TrialState::running, {{1, 2.5}}), study, Direction::minimize));
  // Step 2 reaches rung 1 only (rung 0 was judged at step 1): competing {0.8, 1.5, x}; index 3 / 2 - 1 = 0.
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{1, 9.0}, {2, 0.7}}), study, Direction::minimize));
  EXPECT_TRUE(pruner->should_prune(trial(9, TrialState::running, {{1, 9.0}, {2, 0.9}}), study, Direction::minimize));
  // Step 3 is no rung: no decision, however bad.
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{1, 1.0}, {2, 0.1}, {3, 99.0}}), study,
                                    Direction::minimize));
  // A first report at step 4 judges rungs 0, 1 and 2 with the same value; rung 2 competing {0.6, x}: index 0.
  EXPECT_TRUE(pruner->should_prune(trial(9, TrialState::running, {{4, 0.65}}), study, Direction::minimize));
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{4, 0.55}}), study, Direction::minimize));
  // Maximizing at rung 0 with x = 2.5: sorted {1.0, 2.0, 2.5, 3.0}, the second largest is 2.5 <= 2.5 promoted.
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{1, 2.5}}), study, Direction::maximize));
  EXPECT_TRUE(pruner->should_prune(trial(9, TrialState::running, {{1, 1.5}}), study, Direction::maximize));
}

TEST(SuccessiveHalving, MinResourceAndEarlyStoppingRateMoveTheRungs) {
  // min_resource 2, eta 3, rate 1: rungs at 6, 18. Nothing is judged before step 6.
  auto pruner = make_successive_halving_pruner({2, 3, 1});
  std::vector<TrialRecord> study{trial(0, TrialState::complete, {{6, 1.0}})};
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{5, 50.0}}), study, Direction::minimize));
  // Competing {1.0, 50.0}: index 2 / 3 - 1 < 0, so 0: only the best continues.
  EXPECT_TRUE(pruner->should_prune(trial(9, TrialState::running, {{5, 50.0}, {6, 50.0}}), study, Direction::minimize));
  EXPECT_FALSE(pruner->should_prune(trial(9, TrialState::running, {{5, 50.0}, {6, 0.5}}), study, Direction::minimize));
}

TEST(Hyperband, AssignsBracketsByHyperbandSizesAndComparesWithinABracket) {
  // min 1, max 9, eta 3: brackets = floor(log3(9)) + 1 = 3; sizes ceil(3/3*9)=9, ceil(3/2*3)=5, ceil(3/1*1)=3.
  const HyperbandOptions o{1, 9, 3};
  EXPECT_EQ(hyperband_bracket_count(o), 3);
  EXPECT_EQ(hyperband_bracket(o, 0), 0);
  EXPECT_EQ(hyperband_bracket(o, 8), 0);
  EXPECT_EQ(hyperband_bracket(o, 9), 1);
  EXPECT_EQ(hyperband_bracket(o, 13), 1);
  EXPECT_EQ(hyperband_bracket(o, 14), 2);
  EXPECT_EQ(hyperband_bracket(o, 16), 2);
  EXPECT_EQ(hyperband_bracket(o, 17), 0);  // the cycle repeats
  auto pruner = make_hyperband_pruner(o);
  // Bracket 0 has rungs at 1, 3, 9; trials 0 and 1 are in it, trial 9 is in bracket 1 (rungs at 3, 9).
  std::vector<TrialRecord> study{trial(0, TrialState::complete, {{1, 1.0}, {3, 1.0}}),
                                 trial(9, TrialState::complete, {{1, 100.0}, {3, 100.0}})};
  // Trial 1 at step 1 against bracket 0 only: competing {1.0, 2.0}, index 0: 2.0 > 1.0 pruned.
  EXPECT_TRUE(pruner->should_prune(trial(1, TrialState::running, {{1, 2.0}}), study, Direction::minimize));
  // Trial 10 (bracket 1) at step 1: no rung yet, whatever its value.
  EXPECT_FALSE(pruner->should_prune(trial(10, TrialState::running, {{1, 500.0}}), study, Direction::minimize));
  // Trial 10 at step 3 competes with trial 9 only: {100, 50}: 50 is the best, promoted (trial 0's 1.0 is in
  // another bracket).
  EXPECT_FALSE(pruner->should_prune(trial(10, TrialState::running, {{1, 500.0}, {3, 50.0}}), study, Direction::minimize));
}

TEST(Pruners, ByNameWithValidatedOptions) {
  EXPECT_EQ(make_pruner("asha", nlohmann::json::object(), 10)->name(), "successive_halving");
  EXPECT_EQ(make_pruner("hyperband", nlohmann::json::object(), 27)->name(), "hyperband");
  try {
    make_pruner("medain", nlohmann::json::object(), 10);
    FAIL() << "unknown pruner accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("median"), std::string::npos) << e.what();
  }
  try {
    make_pruner("median", {{"warmup", 3}}, 10);
    FAIL() << "unknown option accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("n_warmup_steps"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_pruner("successive_halving", {{"reduction_factor", 1}}, 10), Error);
  EXPECT_THROW(make_pruner("hyperband", {{"min_resource", 5}}, 3), Error);
}

}  // namespace
}  // namespace descent::tune
