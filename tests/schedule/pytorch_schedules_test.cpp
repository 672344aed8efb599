// Hand-checked values of each PyTorch scheduler at a few steps (base 1 unless said otherwise).
#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/error.hpp"
#include "descent/schedule/cosine.hpp"
#include "descent/schedule/cyclic.hpp"
#include "descent/schedule/lambda.hpp"
#include "descent/schedule/one_cycle.hpp"
#include "descent/schedule/step_decay.hpp"

namespace {

using namespace descent::schedule;
constexpr double kTight = 1e-15;

TEST(StepDecay, StepLRDropsEveryStepSize) {
  const StepLR schedule(2, 0.5);
  EXPECT_EQ(schedule.value(0, 1.0), 1.0);
  EXPECT_EQ(schedule.value(1, 1.0), 1.0);
  EXPECT_EQ(schedule.value(2, 1.0), 0.5);
  EXPECT_EQ(schedule.value(3, 1.0), 0.5);
  EXPECT_EQ(schedule.value(4, 1.0), 0.25);
  EXPECT_EQ(schedule.value(4, 0.2), 0.05);  // scales any base
}

TEST(StepDecay, MultiStepLRDropsAtMilestones) {
  const MultiStepLR schedule({2, 5}, 0.1);
  EXPECT_EQ(schedule.value(1, 1.0), 1.0);
  EXPECT_NEAR(schedule.value(2, 1.0), 0.1, kTight);
  EXPECT_NEAR(schedule.value(4, 1.0), 0.1, kTight);
  EXPECT_NEAR(schedule.value(5, 1.0), 0.01, kTight);
  EXPECT_NEAR(schedule.value(500, 1.0), 0.01, kTight);
}

TEST(StepDecay, ConstantLRHoldsFactorThenBase) {
  const ConstantLR schedule(0.5, 3);
  EXPECT_EQ(schedule.value(0, 1.0), 0.5);
  EXPECT_EQ(schedule.value(2, 1.0), 0.5);
  EXPECT_EQ(schedule.value(3, 1.0), 1.0);
}

TEST(StepDecay, LinearLRInterpolatesThenHolds) {
  const LinearLR schedule(0.25, 1.0, 4);
  EXPECT_EQ(schedule.value(0, 1.0), 0.25);
  EXPECT_NEAR(schedule.value(1, 1.0), 0.4375, kTight);
  EXPECT_NEAR(schedule.value(2, 1.0), 0.625, kTight);
  EXPECT_NEAR(schedule.value(4, 1.0), 1.0, kTight);
  EXPECT_NEAR(schedule.value(9, 1.0), 1.0, kTight);
}

TEST(StepDecay, ExponentialAndPolynomial) {
  EXPECT_EQ(ExponentialLR(0.5).value(3, 1.0), 0.125);
  const PolynomialLR polynomial(4, 2.0);
  EXPECT_EQ(polynomial.value(0, 1.0), 1.0);
  EXPECT_NEAR(polynomial.value(1, 1.0), 0.5625, kTight);
  EXPECT_NEAR(polynomial.value(2, 1.0), 0.25, kTight);
  EXPECT_EQ(polynomial.value(4, 1.0), 0.0);
  EXPECT_EQ(polynomial.value(6, 1.0), 0.0);
}

TEST(Cosine, AnnealingFollowsHalfCosineAndClimbsBackAfterTMax) {
  const CosineAnnealingLR schedule(4, 0.0);
  EXPECT_EQ(schedule.value(0, 1.0), 1.0);
  EXPECT_NEAR(schedule.value(2, 1.0), 0.5, kTight);
  EXPECT_NEAR(schedule.value(4, 1.0), 0.0, kTight);
  EXPECT_NEAR(schedule.value(6, 1.0), 0.5, kTight);  // PyTorch's recursion keeps going: period 2 * T_max
  EXPECT_NEAR(schedule.value(8, 1.0), 1.0, kTight);
  const CosineAnnealingLR floor(4, 0.1);
  EXPECT_NEAR(floor.value(2, 1.0), 0.55, kTight);
  EXPECT_NEAR(floor.value(4, 1.0), 0.1, kTight);
}

TEST(Cosine, WarmRestartsLengthenPeriods) {
  const CosineAnnealingWarmRestarts schedule(2, 2, 0.0);  // periods [0,2) [2,6) [6,14)
  EXPECT_EQ(schedule.value(0, 1.0), 1.0);
  EXPECT_NEAR(schedule.value(1, 1.0), 0.5, kTight);
  EXPECT_EQ(schedule.value(2, 1.0), 1.0);
  EXPECT_NEAR(schedule.value(4, 1.0), 0.5, kTight);
  EXPECT_EQ(schedule.value(6, 1.0), 1.0);
  EXPECT_NEAR(schedule.value(10, 1.0), 0.5, kTight);
  const CosineAnnealingWarmRestarts fixed(3, 1, 0.0);
  EXPECT_EQ(fixed.value(3, 1.0), 1.0);
  EXPECT_NEAR(fixed.value(4, 1.0), fixed.value(1, 1.0), 0.0);
}

TEST(Lambda, LambdaAndMultiplicative) {
  const LambdaLR lambda([](std::int64_t step) { return 1.0 / static_cast<double>(step + 1); });
  EXPECT_EQ(lambda.value(3, 1.0), 0.25);
  const MultiplicativeLR multiplicative([](std::int64_t) { return 0.5; });
  EXPECT_EQ(multiplicative.value(0, 1.0), 1.0);  // lr_lambda(0) is never applied
  EXPECT_EQ(multiplicative.value(3, 1.0), 0.125);
  EXPECT_EQ(multiplicative.value(1, 2.0), 1.0);  // going back replays from the start
}

TEST(Cyclic, TriangularRisesAndFallsWithMomentumOpposite) {
  CyclicOptions options;
  options.base_lr = 0.1;
  options.max_lr = 1.0;
  options.step_size_up = 2;
  const CyclicLR schedule(options);
  EXPECT_NEAR(schedule.value(0, 123.0), 0.1, kTight);  // absolute: the base is ignored
  EXPECT_NEAR(schedule.value(1, 1.0), 0.55, kTight);
  EXPECT_NEAR(schedule.value(2, 1.0), 1.0, kTight);
  EXPECT_NEAR(schedule.value(3, 1.0), 0.55, kTight);
  EXPECT_NEAR(schedule.value(4, 1.0), 0.1, kTight);
  EXPECT_NEAR(schedule.momentum(0).value(), 0.9, kTight);
  EXPECT_NEAR(schedule.momentum(1).value(), 0.85, kTight);
  EXPECT_NEAR(schedule.momentum(2).value(), 0.8, kTight);
}

TEST(Cyclic, Triangular2HalvesAndExpRangeDecays) {
  CyclicOptions options;
  options.base_lr = 0.1;
  options.max_lr = 1.0;
  options.step_size_up = 2;
  options.mode = "triangular2";
  EXPECT_NEAR(CyclicLR(options).value(6, 1.0), 0.55, kTight);  // second cycle's peak is half as high
  options.mode = "exp_range";
  options.gamma = 0.5;
  EXPECT_NEAR(CyclicLR(options).value(1, 1.0), 0.1 + 0.9 * 0.5 * 0.5, kTight);
  options.mode = "triangular";
  options.cycle_momentum = false;
  EXPECT_FALSE(CyclicLR(options).momentum(1).has_value());
  options.scale_fn = [](double step) { return step < 2 ? 1.0 : 0.0; };  // custom, per step
  options.scale_mode = "iterations";
  EXPECT_NEAR(CyclicLR(options).value(1, 1.0), 0.55, kTight);
  EXPECT_NEAR(CyclicLR(options).value(2, 1.0), 0.1, kTight);
}

TEST(OneCycle, TwoPhasesCosine) {
  OneCycleOptions options;
  options.max_lr = 1.0;
  options.total_steps = 10;  // warm-up ends at 0.3 * 10 - 1 = 2
  const OneCycleLR schedule(options);
  EXPECT_NEAR(schedule.value(0, 5.0), 0.04, kTight);
  EXPECT_NEAR(schedule.value(1, 1.0), 0.52, kTight);
  EXPECT_NEAR(schedule.value(2, 1.0), 1.0, kTight);
  EXPECT_NEAR(schedule.value(9, 1.0), 4e-6, 1e-17);
  EXPECT_NEAR(schedule.momentum(0).value(), 0.95, kTight);
  EXPECT_NEAR(schedule.momentum(2).value(), 0.85, kTight);
  EXPECT_NEAR(schedule.momentum(9).value(), 0.95, kTight);
  EXPECT_NO_THROW(schedule.value(10, 1.0));  // PyTorch allows step == total_steps
  EXPECT_THROW(schedule.value(11, 1.0), descent::Error);
}

TEST(OneCycle, ThreePhasesLinear) {
  OneCycleOptions options;
  options.max_lr = 1.0;
  options.total_steps = 10;
  options.anneal_strategy = "linear";
  options.three_phase = true;  // phase ends 2, 4, 9
  const OneCycleLR schedule(options);
  EXPECT_NEAR(schedule.value(1, 1.0), 0.52, kTight);
  EXPECT_NEAR(schedule.value(2, 1.0), 1.0, kTight);
  EXPECT_NEAR(schedule.value(3, 1.0), 0.52, kTight);
  EXPECT_NEAR(schedule.value(4, 1.0), 0.04, kTight);
  EXPECT_NEAR(schedule.value(9, 1.0), 4e-6, 1e-17);
  EXPECT_NEAR(schedule.momentum(4).value(), 0.95, kTight);
  EXPECT_NEAR(schedule.momentum(7).value(), 0.95, kTight);
}

TEST(Schedule, NegativeStepIsAnError) {
  EXPECT_THROW(StepLR(2).value(-1, 1.0), descent::Error);
  EXPECT_THROW(StepLR(2).momentum(-1), descent::Error);
}

}  // namespace
