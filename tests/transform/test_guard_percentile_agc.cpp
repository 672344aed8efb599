#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "descent/transform/agc.hpp"
#include "descent/transform/nonfinite_guard.hpp"
#include "descent/transform/percentile_clip.hpp"
#include "grad_fixtures.hpp"

using namespace descent;
using namespace descent::transform;
using namespace descent::transform::testing;

TEST(NonFiniteGuard, SkipPolicyCountsSkippedSteps) {
  NonFiniteGuard guard(NonFinitePolicy::Skip);
  std::vector<Tensor> params = {param_with_grad(tensor({1.0f, 2.0f}))};
  EXPECT_TRUE(guard.check(params));
  params[0].grad().data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(guard.check(params));
  EXPECT_FALSE(guard.check(params));
  EXPECT_EQ(guard.steps_checked(), 3);
  EXPECT_EQ(guard.steps_skipped(), 2);
  NonFiniteGuard restored;
  restored.load_state_dict(guard.state_dict());
  EXPECT_EQ(restored.steps_skipped(), 2);
  EXPECT_THROW(restored.load_state_dict({{"steps_checked", 1}, {"steps_skipped", 2}}), Error);
}

TEST(NonFiniteGuard, RaisePolicyNamesStepTensorAndElement) {
  NonFiniteGuard guard(NonFinitePolicy::Raise);
  guard.set_parameter_names({"fc.weight", "fc.bias"});
  std::vector<Tensor> params = {param_with_grad(tensor({1.0f, 2.0f})), param_with_grad(tensor({0.0f, 1.0f, 2.0f, 3.0f}))};
  EXPECT_TRUE(guard.check(params));
  params[1].grad().data<float>()[3] = -std::numeric_limits<float>::infinity();
  try {
    guard.check(params);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("step 2"), std::string::npos) << message;
    EXPECT_NE(message.find("'fc.bias'"), std::string::npos) << message;
    EXPECT_NE(message.find("element 3"), std::string::npos) << message;
    EXPECT_NE(message.find("-inf"), std::string::npos) << message;
  }
  EXPECT_EQ(parse_nonfinite_policy("raise"), NonFinitePolicy::Raise);
  EXPECT_THROW(parse_nonfinite_policy("ignore"), Error);
}

TEST(NonFiniteGuard, LocatesInStridedGradients) {
  Generator gen(8);
  Tensor grad = transposed_grad(3, 4, DType::Float64, gen);
  // Storage element 5 of the (4, 3) buffer is row 1, column 2 of the transposed view: element 2*4+1 = 9.
  static_cast<double*>(grad.storage()->data())[5] = std::numeric_limits<double>::quiet_NaN();
  const auto where = find_nonfinite_grad({param_with_grad(randn(Shape{2}, gen)), param_with_grad(grad)});
  ASSERT_TRUE(where.found);
  EXPECT_EQ(where.param_index, 1u);
  EXPECT_EQ(where.element, 9);
}

TEST(PercentileClip, FollowsLinearInterpolationOverTheWindow) {
  PercentileClip clip({.percentile = 50.0, .window = 4});
  const double norms[] = {1, 3, 2, 10, 4};
  const double thresholds[] = {1, 2, 2, 2.5, 3.5};  // the last window is {3, 2, 10, 4}: 1 dropped
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(clip.record(norms[i]), thresholds[i]) << i;
  EXPECT_EQ(clip.recorded(), 4);

  PercentileClip quarter({.percentile = 25.0, .window = 4});
  quarter.load_state_dict(clip.state_dict());
  EXPECT_DOUBLE_EQ(quarter.threshold(), 2.75);  // sorted {2, 3, 4, 10}, rank 0.75
  PercentileClip top({.percentile = 100.0, .window = 2});
  top.load_state_dict(clip.state_dict());  // keeps the newest two: {10, 4}
  EXPECT_DOUBLE_EQ(top.threshold(), 10.0);
  EXPECT_DOUBLE_EQ(top.record(5.0), 5.0);  // window {4, 5}
}

TEST(PercentileClip, RejectsInvalidOptionsAndNorms) {
  for (double bad : {0.0, -5.0, 100.5, std::numeric_limits<double>::quiet_NaN()})
    EXPECT_THROW(PercentileClip({.percentile = bad}), Error) << bad;
  EXPECT_THROW(PercentileClip({.window = 0}), Error);
  PercentileClip clip;
  EXPECT_THROW(clip.threshold(), Error);
  EXPECT_THROW(clip.record(std::numeric_limits<double>::infinity()), Error);
  EXPECT_THROW(clip.load_state_dict({{"norms", {1.0, -2.0}}}), Error);
}

TEST(AdaptiveGradClip, MatchesHandComputation) {
  // Matrix (2, 2): units are rows. Row 0: ||W|| = 5, limit 0.1 * 5 = 0.5, ||G|| = 1 -> scaled by 0.5.
  // Row 1: ||W|| = 0 -> eps 1e-3, limit 1e-4, ||G|| = 0.5 -> scaled by 2e-4.
  Tensor matrix = from_vector(std::vector<double>{3, 4, 0, 0}, Shape{2, 2});
  matrix.set_grad(from_vector(std::vector<double>{1, 0, 0, 0.5}, Shape{2, 2}));
  // Vector: one unit. ||W|| = 1, limit 0.1, ||G|| = 0.05 -> unchanged.
  Tensor bias = from_vector(std::vector<double>{0.6, 0.8}, Shape{2});
  bias.set_grad(from_vector(std::vector<double>{0.03, 0.04}, Shape{2}));
  // Vector: ||W|| = 1, ||G|| = 5 -> scaled by 0.1 / 5 = 0.02.
  Tensor gain = from_vector(std::vector<double>{1, 0}, Shape{2});
  gain.set_grad(from_vector(std::vector<double>{3, 4}, Shape{2}));
  // Convolution weight (out 2, in 1, 1, 2): units are output channels. Channel 0: ||W|| = 1, limit 0.1,
  // ||G|| = sqrt(2) -> scaled by 0.1 / sqrt(2). Channel 1: ||W|| = 2, limit 0.2, ||G|| = 0.1 -> unchanged.
  Tensor conv = from_vector(std::vector<double>{1, 0, 0, 2}, Shape{2, 1, 1, 2});
  conv.set_grad(from_vector(std::vector<double>{1, 1, 0.1, 0}, Shape{2, 1, 1, 2}));

  const std::vector<Tensor> params = {matrix, bias, gain, conv};
  EXPECT_EQ(adaptive_grad_clip_(params, {.clipping = 0.1, .eps = 1e-3}), 4);
  const double s = 0.1 / std::sqrt(2.0);
  const std::vector<double> want = {0.5, 0, 0, 1e-4, 0.03, 0.04, 0.06, 0.08, s, s, 0.1, 0};
  const auto got = grad_values(params);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-15) << i;
}

TEST(AdaptiveGradClip, MultiplierUnscalesFirstAndStridedGradientsWork) {
  Generator gen(9);
  Tensor weight = randn(Shape{3, 4}, gen, DType::Float64);
  Tensor grad = transposed_grad(3, 4, DType::Float64, gen);
  Tensor scaled = grad.clone();
  {
    double* data = scaled.data<double>();
    for (int i = 0; i < 12; ++i) data[i] *= 1024.0;
  }
  Tensor a = weight.clone(), b = weight.clone();
  a.set_grad(grad.clone());
  b.set_grad(scaled);
  Tensor c = weight.clone();
  c.set_grad(grad);  // the non-contiguous view itself
  EXPECT_EQ(adaptive_grad_clip_({a}, {.clipping = 0.05}), 3) << "every row is clipped";
  adaptive_grad_clip_({b}, {.clipping = 0.05}, 1.0 / 1024.0);
  adaptive_grad_clip_({c}, {.clipping = 0.05});
  const auto want = a.grad().to_vector<double>();
  EXPECT_EQ(b.grad().to_vector<double>(), want);
  EXPECT_EQ(c.grad().to_vector<double>(), want);
}

TEST(AdaptiveGradClip, RejectsInvalidOptions) {
  const std::vector<Tensor> params = {param_with_grad(tensor({1.0f}))};
  EXPECT_THROW(adaptive_grad_clip_(params, {.clipping = 0.0}), Error);
  EXPECT_THROW(adaptive_grad_clip_(params, {.clipping = -1.0}), Error);
  EXPECT_THROW(adaptive_grad_clip_(params, {.eps = -1e-3}), Error);
}
