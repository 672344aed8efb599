#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "descent/transform/clip.hpp"
#include "descent/transform/grad_norm.hpp"
#include "descent/vectors/clip.hpp"
#include "grad_fixtures.hpp"

using namespace descent;
using namespace descent::transform;
using namespace descent::transform::testing;

TEST(ClipGradNorm, ScalesByMaxNormOverTotalPlusEpsilon) {
  std::vector<Tensor> params = {param_with_grad(tensor({3.0f, -4.0f})), zeros(Shape{3}),
                                param_with_grad(tensor({-12.0f}))};
  const double total = clip_grad_norm_(params, 6.5);
  EXPECT_DOUBLE_EQ(total, 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);
  const auto g = grad_values(params);
  EXPECT_FLOAT_EQ(float(g[0]), float(3.0f * float(coef)));
  EXPECT_FLOAT_EQ(float(g[1]), float(-4.0f * float(coef)));
  EXPECT_FLOAT_EQ(float(g[2]), float(-12.0f * float(coef)));
  EXPECT_FALSE(params[1].grad().defined());
}

TEST(ClipGradNorm, BelowMaxNormLeavesGradientsUnchanged) {
  std::vector<Tensor> params = {param_with_grad(tensor({0.3f, -0.4f}))};
  EXPECT_NEAR(clip_grad_norm_(params, 1.0, 1.0), 0.7, 1e-7);
  EXPECT_EQ(grad_values(params), (std::vector<double>{0.3f, -0.4f}));
}

TEST(ClipGradNorm, CoefficientClampsAtOneAndKeepsNan) {
  EXPECT_EQ(clip_coefficient(10.0, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(clip_coefficient(1.0, 4.0), 1.0 / (4.0 + 1e-6));
  EXPECT_EQ(clip_coefficient(1.0, kInfNorm), 0.0);
  EXPECT_TRUE(std::isnan(clip_coefficient(1.0, std::numeric_limits<double>::quiet_NaN())));
  EXPECT_EQ(clip_coefficient(0.0, 0.0), 0.0);
}

TEST(ClipGradNorm, NonFiniteNormIsScaledInOrRaisesNamingTheNorm) {
  std::vector<Tensor> params = {param_with_grad(tensor({1.0f, std::numeric_limits<float>::infinity()}))};
  try {
    clip_grad_norm_(params, 1.0, 2.0, /*error_if_nonfinite=*/true);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("norm of order 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("inf"), std::string::npos) << e.what();
  }
  EXPECT_EQ(grad_values(params)[0], 1.0) << "the gradients are left untouched when raising";
  // PyTorch's default: the non-finite coefficient (0 here) is multiplied in.
  EXPECT_EQ(clip_grad_norm_(params, 1.0), kInfNorm);
  const auto g = grad_values(params);
  EXPECT_EQ(g[0], 0.0);
  EXPECT_TRUE(std::isnan(g[1]));
}

TEST(ClipGradNorm, RejectsOnlyNaNOptions) {
  std::vector<Tensor> params = {param_with_grad(tensor({1.0f}))};
  try {
    clip_grad_norm_(params, std::numeric_limits<double>::quiet_NaN());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_norm"), std::string::npos) << e.what();
  }
  EXPECT_THROW(clip_grad_norm_(params, 1.0, std::numeric_limits<double>::quiet_NaN()), Error);
  EXPECT_THROW(clip_grad_value_(params, std::numeric_limits<double>::quiet_NaN()), Error);
}

// torch.nn.utils.clip_grad_norm_ accepts a negative max_norm: the coefficient
// clamps to at most 1 and goes negative, flipping the gradients.
TEST(ClipGradNorm, NegativeMaxNormFlipsGradientsAsPyTorchDoes) {
  std::vector<Tensor> params = {param_with_grad(tensor({3.0f, 4.0f}))};
  EXPECT_EQ(clip_grad_norm_(params, -1.0), 5.0);
  const auto g = grad_values(params);
  EXPECT_NEAR(g[0], -0.6, 1e-6);
  EXPECT_NEAR(g[1], -0.8, 1e-6);
}

// norm_type 0 counts the non-zero entries; PyTorch sums the per-tensor counts.
TEST(ClipGradNorm, ZeroNormCountsNonZeroEntries) {
  std::vector<Tensor> params = {param_with_grad(tensor({1.0f, 0.0f})),
                                param_with_grad(tensor({0.0f, 3.0f}))};
  EXPECT_EQ(clip_grad_norm_(params, 1.0, 0.0), 2.0);
  const auto g = grad_values(params);
  EXPECT_NEAR(g[0], 0.5, 1e-6);
  EXPECT_NEAR(g[3], 1.5, 1e-6);
}

TEST(ClipGradNorm, MinusInfinityNormIsTheSmallestMagnitude) {
  std::vector<Tensor> params = {param_with_grad(tensor({-2.0f, 4.0f})),
                                param_with_grad(tensor({8.0f}))};
  EXPECT_EQ(clip_grad_norm_(params, 10.0, -kInfNorm), 2.0);
}

// torch.clamp(g, -c, c) with c < 0 gives every element the upper bound c.
TEST(ClipGradValue, NegativeLimitSetsEveryElementToIt) {
  std::vector<Tensor> params = {param_with_grad(tensor({-3.0f, 0.25f, 2.0f}))};
  clip_grad_value_(params, -1.0);
  for (double v : grad_values(params)) EXPECT_EQ(v, -1.0);
}

TEST(ClipGradValue, ClampsEveryElementIncludingStrided) {
  Generator gen(7);
  std::vector<Tensor> params = {param_with_grad(tensor({-3.0f, 0.25f, 2.0f})),
                                param_with_grad(transposed_grad(3, 4, DType::Float64, gen))};
  const auto before = grad_values(params);
  clip_grad_value_(params, 0.5);
  const auto after = grad_values(params);
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i], std::clamp(before[i], -0.5, 0.5)) << i;
}

TEST(ClipVectors, EveryReferenceCasePasses) {
  const std::filesystem::path dir = DESCENT_SOURCE_DIR "/tests/data/vectors/clip";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << "no reference vectors at " << dir;
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const auto spec = nlohmann::json::parse(in);
    const vectors::CaseResult result = vectors::run_clip_case(spec);
    EXPECT_TRUE(result.passed) << entry.path().filename() << ": " << result.detail;
    ++cases;
  }
  EXPECT_GE(cases, 10);
}

TEST(ClipVectors, ACorruptedCaseFails) {
  nlohmann::json spec = {{"shapes", {{2}}},      {"grads", {{3.0, 4.0}}}, {"clip", "norm"},
                         {"max_norm", 1.0},      {"norm_type", 2.0},      {"expected_total_norm", 5.0},
                         {"expected", {{0.6, 0.8}}}, {"rtol", 1e-5},     {"atol", 1e-7}};
  EXPECT_TRUE(vectors::run_clip_case(spec).passed) << vectors::run_clip_case(spec).detail;
  spec["expected_total_norm"] = 5.1;
  EXPECT_FALSE(vectors::run_clip_case(spec).passed);
  spec["expected_total_norm"] = 5.0;
  spec["expected"] = {{0.6, 0.81}};
  const auto result = vectors::run_clip_case(spec);
  EXPECT_FALSE(result.passed);
  EXPECT_NE(result.detail.find("element 1"), std::string::npos) << result.detail;
  spec["norm_type"] = "two";
  EXPECT_THROW(vectors::run_clip_case(spec), Error);
  spec.erase("norm_type");
  EXPECT_THROW(vectors::run_clip_case(spec), Error);
}
