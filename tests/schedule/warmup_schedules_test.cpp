// Hand-checked values of the schedules beyond PyTorch (Optax formulas).
#include <gtest/gtest.h>

#include "descent/schedule/piecewise.hpp"
#include "descent/schedule/warmup.hpp"

namespace {

using namespace descent::schedule;
constexpr double kTight = 1e-15;

TEST(Warmup, WarmupCosine) {
  const WarmupCosine schedule(2, 6);  // warm-up 0 -> 1 over 2 steps, cosine over 4 more
  EXPECT_EQ(schedule.value(0, 1.0), 0.0);
  EXPECT_NEAR(schedule.value(1, 1.0), 0.5, kTight);
  EXPECT_NEAR(schedule.value(2, 1.0), 1.0, kTight);
  EXPECT_NEAR(schedule.value(4, 1.0), 0.5, kTight);
  EXPECT_NEAR(schedule.value(6, 1.0), 0.0, kTight);
  EXPECT_NEAR(schedule.value(10, 1.0), 0.0, kTight);
  const WarmupCosine floored(2, 6, 0.1, 0.1, 2.0);
  EXPECT_NEAR(floored.value(0, 1.0), 0.1, kTight);
  EXPECT_NEAR(floored.value(4, 1.0), 0.9 * 0.25 + 0.1, kTight);  // cosine factor 0.5 squared
}

TEST(Warmup, WarmupLinear) {
  const WarmupLinear schedule(2, 6);
  EXPECT_NEAR(schedule.value(1, 1.0), 0.5, kTight);
  EXPECT_NEAR(schedule.value(2, 1.0), 1.0, kTight);
  EXPECT_NEAR(schedule.value(4, 1.0), 0.5, kTight);
  EXPECT_NEAR(schedule.value(6, 1.0), 0.0, kTight);
  EXPECT_NEAR(schedule.value(8, 1.0), 0.0, kTight);
  EXPECT_NEAR(WarmupLinear(0, 4, 0.0, 0.5).value(2, 1.0), 0.75, kTight);
}

TEST(Warmup, InverseSqrt) {
  const InverseSqrt schedule(4);
  EXPECT_EQ(schedule.value(0, 1.0), 0.0);
  EXPECT_NEAR(schedule.value(2, 1.0), 0.5, kTight);
  EXPECT_NEAR(schedule.value(4, 1.0), 1.0, kTight);
  EXPECT_NEAR(schedule.value(16, 1.0), 0.5, kTight);
  EXPECT_NEAR(InverseSqrt(0).value(30000, 1.0), 0.5, kTight);  // timescale 10000 without warm-up
  EXPECT_NEAR(InverseSqrt(0, 100).value(300, 1.0), 0.5, kTight);
}

TEST(Warmup, WarmupStableDecayShapes) {
  WarmupStableDecayOptions options{.warmup_steps = 2, .stable_steps = 2, .decay_steps = 4};
  const WarmupStableDecay linear(options);
  EXPECT_NEAR(linear.value(1, 1.0), 0.5, kTight);
  EXPECT_EQ(linear.value(3, 1.0), 1.0);
  EXPECT_EQ(linear.value(4, 1.0), 1.0);
  EXPECT_NEAR(linear.value(6, 1.0), 0.5, kTight);
  EXPECT_EQ(linear.value(8, 1.0), 0.0);
  options.decay_type = "cosine";
  EXPECT_NEAR(WarmupStableDecay(options).value(6, 1.0), 0.5, kTight);
  options.decay_type = "1-sqrt";
  options.end_factor = 0.2;
  EXPECT_NEAR(WarmupStableDecay(options).value(5, 1.0), 0.8 * 0.5 + 0.2, kTight);
  EXPECT_NEAR(WarmupStableDecay(options).value(100, 1.0), 0.2, kTight);
}

TEST(Piecewise, ScalesApplyFromTheirBoundaries) {
  const PiecewiseConstant schedule({2, 4}, {0.5, 0.1});
  EXPECT_EQ(schedule.value(1, 1.0), 1.0);  // Optax: the scale applies once count >= boundary
  EXPECT_EQ(schedule.value(2, 1.0), 0.5);
  EXPECT_EQ(schedule.value(3, 1.0), 0.5);
  EXPECT_NEAR(schedule.value(4, 1.0), 0.05, kTight);
  EXPECT_NEAR(schedule.value(5, 1.0), 0.05, kTight);
  EXPECT_EQ(PiecewiseConstant({}, {}).value(7, 0.3), 0.3);
}

}  // namespace
