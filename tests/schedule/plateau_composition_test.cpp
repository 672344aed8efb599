// ReduceLROnPlateau alone and composed; SequentialLR / ChainedScheduler semantics; the binding.
#include <gtest/gtest.h>

#include "descent/core/error.hpp"
#include "descent/schedule/binding.hpp"
#include "descent/schedule/compose.hpp"
#include "descent/schedule/factory.hpp"
#include "descent/schedule/plateau.hpp"
#include "descent/schedule/step_decay.hpp"

namespace {

using namespace descent::schedule;
constexpr double kTight = 1e-15;

TEST(Plateau, ReducesAfterPatienceRunsOut) {
  ReduceLROnPlateau plateau({.factor = 0.5, .patience = 1, .threshold = 0.0});
  plateau.observe(0, 1.0);  // best
  EXPECT_EQ(plateau.value(1, 1.0), 1.0);
  plateau.observe(1, 1.0);  // one bad epoch: within patience
  EXPECT_EQ(plateau.value(2, 1.0), 1.0);
  plateau.observe(2, 1.0);  // two bad epochs > patience 1
  EXPECT_EQ(plateau.value(3, 1.0), 0.5);
  EXPECT_EQ(plateau.reductions(), 1);
  plateau.observe(3, 0.5);  // better: counter resets
  EXPECT_EQ(plateau.num_bad_epochs(), 0);
  EXPECT_EQ(plateau.value(4, 1.0), 0.5);
}

TEST(Plateau, ModesAndThresholds) {
  ReduceLROnPlateau max_abs({.mode = "max", .factor = 0.5, .patience = 0, .threshold = 0.1,
                             .threshold_mode = "abs"});
  max_abs.observe(0, 1.0);
  max_abs.observe(1, 1.05);  // not better by more than 0.1: reduce (patience 0)
  EXPECT_EQ(max_abs.value(2, 1.0), 0.5);
  max_abs.observe(2, 1.2);  // better
  EXPECT_EQ(max_abs.best(), 1.2);
  ReduceLROnPlateau min_rel({.factor = 0.5, .patience = 0, .threshold = 0.1});
  min_rel.observe(0, 1.0);
  min_rel.observe(1, 0.95);  // needs < 0.9
  EXPECT_EQ(min_rel.reductions(), 1);
  min_rel.observe(2, 0.85);
  EXPECT_EQ(min_rel.reductions(), 1);
}

TEST(Plateau, CooldownIgnoresBadEpochs) {
  ReduceLROnPlateau plateau({.factor = 0.5, .patience = 0, .threshold = 0.0, .cooldown = 2});
  plateau.observe(0, 1.0);
  plateau.observe(1, 2.0);  // reduce, cooldown 2
  plateau.observe(2, 2.0);  // cooldown 1
  plateau.observe(3, 2.0);  // cooldown 0
  EXPECT_EQ(plateau.reductions(), 1);
  plateau.observe(4, 2.0);  // counts again
  EXPECT_EQ(plateau.reductions(), 2);
}

TEST(Plateau, MinLrAndEpsBoundTheReduction) {
  ReduceLROnPlateau plateau({.factor = 0.5, .patience = 0, .threshold = 0.0, .min_lr = 0.3});
  plateau.observe(0, 1.0);
  plateau.observe(1, 1.0);
  plateau.observe(2, 1.0);
  plateau.observe(3, 1.0);
  EXPECT_EQ(plateau.reductions(), 3);
  EXPECT_EQ(plateau.value(4, 1.0), 0.3);    // 1 -> 0.5 -> max(0.25, 0.3)
  EXPECT_EQ(plateau.value(4, 0.2), 0.2);    // already below min_lr: left alone, never raised
  EXPECT_EQ(plateau.value(4, 1e-8), 1e-8);  // a change of 5e-9 is within eps = 1e-8: not applied
}

TEST(Composition, SequentialRestartsEachPartFromTheBase) {
  const SequentialLR schedule({std::make_shared<LinearLR>(0.5, 1.0, 2), std::make_shared<StepLR>(1, 0.5)}, {3});
  EXPECT_EQ(schedule.value(0, 1.0), 0.5);
  EXPECT_NEAR(schedule.value(1, 1.0), 0.75, kTight);
  EXPECT_EQ(schedule.value(2, 1.0), 1.0);
  EXPECT_EQ(schedule.value(3, 1.0), 1.0);  // StepLR at its local step 0
  EXPECT_EQ(schedule.value(5, 1.0), 0.25);
}

TEST(Composition, ChainMultipliesFactors) {
  const ChainedScheduler schedule({std::make_shared<ConstantLR>(0.5, 2), std::make_shared<ExponentialLR>(0.5)});
  EXPECT_EQ(schedule.value(0, 1.0), 0.5);
  EXPECT_EQ(schedule.value(1, 1.0), 0.25);
  EXPECT_EQ(schedule.value(2, 1.0), 0.25);
}

TEST(Composition, WarmupThenPlateauIgnoresWarmupMetrics) {
  auto schedule = make_schedule("sequentiallr", nlohmann::json::parse(R"({
      "schedulers": [["linearlr", {"start_factor": 0.1, "total_iters": 4}],
                     ["reducelronplateau", {"factor": 0.5, "patience": 0}]],
      "milestones": [4]})"));
  for (std::int64_t step = 0; step < 4; ++step) schedule->observe(step, 10.0 + step);  // worsening, ignored
  EXPECT_EQ(schedule->value(4, 1.0), 1.0);
  schedule->observe(4, 1.0);
  schedule->observe(5, 2.0);  // worse: reduce
  EXPECT_EQ(schedule->value(6, 1.0), 0.5);
  EXPECT_NEAR(schedule->value(1, 1.0), 0.325, kTight);  // the warm-up part is untouched
}

TEST(Composition, PlateauLastInAChainMultipliesTheRest) {
  auto schedule = make_schedule("chainedscheduler", nlohmann::json::parse(R"({
      "schedulers": [{"name": "linearlr", "options": {"start_factor": 0.5, "total_iters": 2}},
                     {"name": "reducelronplateau", "options": {"factor": 0.1, "patience": 0}}]})"));
  schedule->observe(0, 1.0);
  schedule->observe(1, 1.0);  // reduce
  EXPECT_NEAR(schedule->value(1, 1.0), 0.075, kTight);
  EXPECT_NEAR(schedule->value(5, 1.0), 0.1, kTight);
}

TEST(Composition, MomentumFollowsTheActivePart) {
  auto schedule = make_schedule("sequentiallr", nlohmann::json::parse(R"({
      "schedulers": [["constantlr", {"factor": 1.0}],
                     ["cycliclr", {"base_lr": 0.1, "max_lr": 1.0, "step_size_up": 2}]],
      "milestones": [3]})"));
  EXPECT_FALSE(schedule->momentum(2).has_value());
  EXPECT_NEAR(schedule->momentum(4).value(), 0.85, kTight);  // cyclic's local step 1
}

TEST(Binding, ValuesForEachGroupAndCycledMomentum) {
  ScheduleBinding binding{make_schedule("steplr", {{"step_size", 1}, {"gamma", 0.5}}), "weight_decay", {0, 2},
                          {0.1, 0.01}};
  const auto values = binding.values_at(1);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].group, 0u);
  EXPECT_EQ(values[0].name, "weight_decay");
  EXPECT_EQ(values[0].value, 0.05);
  EXPECT_EQ(values[1].group, 2u);
  EXPECT_EQ(values[1].value, 0.005);

  ScheduleBinding cyclic{make_schedule("onecyclelr", {{"max_lr", 1.0}, {"total_steps", 10}}), "lr", {0}, {0.1},
                         "beta1"};
  const auto cycled = cyclic.values_at(0);
  ASSERT_EQ(cycled.size(), 2u);
  EXPECT_EQ(cycled[1].name, "beta1");
  EXPECT_NEAR(cycled[1].value, 0.95, kTight);
}

TEST(Binding, RejectsMismatchedBases) {
  ScheduleBinding binding{make_schedule("steplr", {{"step_size", 1}}), "lr", {0, 1}, {0.1}};
  EXPECT_THROW(binding.values_at(0), descent::Error);
  ScheduleBinding empty{nullptr, "lr", {0}, {0.1}};
  EXPECT_THROW(empty.values_at(0), descent::Error);
}

}  // namespace
