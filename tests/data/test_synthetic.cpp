#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "descent/data/synthetic.hpp"
#include "temp_dir.hpp"

using namespace descent;
using namespace descent::data;
using descent::data::testing::error_message;

namespace {
// Least-squares fit of y = a x + b.
std::pair<double, double> fit_line(const std::vector<float>& x, const std::vector<float>& y) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = double(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    sx += x[i];
    sy += y[i];
    sxx += double(x[i]) * x[i];
    sxy += double(x[i]) * y[i];
  }
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return {slope, (sy - slope * sx) / n};
}
}  // namespace

TEST(Synthetic, SameSeedSameData) {
  using Maker = TensorDataset (*)(Generator&);
  const std::vector<Maker> makers = {
      [](Generator& g) { return make_linear_regression(g); }, [](Generator& g) { return make_quadratic(g, 500); },
      [](Generator& g) { return make_two_moons(g); }, [](Generator& g) { return make_two_spirals(g); }};
  for (std::size_t m = 0; m < makers.size(); ++m) {
    Generator a(42), b(42), c(43);
    const auto x = makers[m](a), y = makers[m](b), z = makers[m](c);
    EXPECT_EQ(x.inputs().to_vector<float>(), y.inputs().to_vector<float>()) << "maker " << m;
    EXPECT_EQ(x.targets().to_vector<double>(), y.targets().to_vector<double>()) << "maker " << m;
    EXPECT_NE(x.inputs().to_vector<float>(), z.inputs().to_vector<float>()) << "maker " << m;
  }
}

TEST(Synthetic, LinearRegressionRecoversSlopeInterceptAndNoise) {
  Generator gen(7);
  const auto data = make_linear_regression(gen);
  ASSERT_EQ(data.inputs().shape(), (Shape{1000, 1}));
  ASSERT_EQ(data.targets().shape(), (Shape{1000, 1}));
  const auto x = data.inputs().to_vector<float>(), y = data.targets().to_vector<float>();
  for (float v : x) ASSERT_TRUE(v >= -1.0f && v <= 1.0f);
  const auto [slope, intercept] = fit_line(x, y);
  // Standard errors with σ = 0.1 and 1000 samples are about 0.0055 (slope) and 0.0032 (intercept).
  EXPECT_NEAR(slope, 3.0, 0.03);
  EXPECT_NEAR(intercept, 2.0, 0.02);
  double squares = 0;
  for (std::size_t i = 0; i < x.size(); ++i) squares += std::pow(y[i] - (slope * x[i] + intercept), 2);
  EXPECT_NEAR(std::sqrt(squares / double(x.size())), 0.1, 0.01);
}

TEST(Synthetic, QuadraticTargetsDependOnFirstTwoInputs) {
  Generator gen(3);
  const auto data = make_quadratic(gen);
  ASSERT_EQ(data.inputs().shape(), (Shape{10000, 20}));
  const auto x = data.inputs().to_vector<float>(), y = data.targets().to_vector<float>();
  double residual = 0, mean_y = 0;
  for (std::int64_t i = 0; i < 10000; ++i) {
    const double x0 = x[i * 20], x1 = x[i * 20 + 1];
    residual += std::pow(y[i] - (x0 * x0 + x1 * x1), 2);
    mean_y += y[i];
  }
  EXPECT_NEAR(std::sqrt(residual / 10000), 0.1, 0.005);
  EXPECT_NEAR(mean_y / 10000, 2.0 / 3.0, 0.02);  // E[x²] = 1/3 for x ~ U[-1, 1]
}

TEST(Synthetic, MoonsMatchScikitLearnGeometry) {
  Generator gen(1);
  const auto data = make_two_moons(gen, 1001, 0.0);
  const auto x = data.inputs().to_vector<float>();
  const auto labels = data.targets().to_vector<std::int64_t>();
  std::int64_t ones = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double px = x[2 * i], py = x[2 * i + 1];
    // Class 0 lies on the unit circle around (0, 0); class 1 on the unit circle around (1, 0.5).
    const double cx = labels[i] == 0 ? 0.0 : 1.0, cy = labels[i] == 0 ? 0.0 : 0.5;
    EXPECT_NEAR(std::hypot(px - cx, py - cy), 1.0, 1e-5);
    EXPECT_EQ(labels[i] == 0 ? py >= -1e-6 : py <= 0.5 + 1e-6, true);
    ones += labels[i];
  }
  EXPECT_EQ(ones, 501);
  // Shuffled: the first 100 samples are not all one class.
  std::int64_t first_ones = 0;
  for (int i = 0; i < 100; ++i) first_ones += labels[std::size_t(i)];
  EXPECT_GT(first_ones, 20);
  EXPECT_LT(first_ones, 80);
}

TEST(Synthetic, SpiralsAreInterleavedAndBalanced) {
  Generator gen(5);
  const auto data = make_two_spirals(gen, 400, 0.0, 1.5);
  const auto x = data.inputs().to_vector<float>();
  const auto labels = data.targets().to_vector<std::int64_t>();
  std::int64_t ones = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    ones += labels[i];
    const double radius = std::hypot(x[2 * i], x[2 * i + 1]);
    EXPECT_GT(radius, 0.0);
    EXPECT_LE(radius, 1.0 + 1e-6);
    // Point-symmetric classes: class 1 is class 0 rotated by π, so the angle fixes the label given the radius.
    const double theta = 1.5 * 2.0 * M_PI * radius + double(labels[i]) * M_PI;
    EXPECT_NEAR(x[2 * i], radius * std::cos(theta), 1e-5);
  }
  EXPECT_EQ(ones, 200);
}

TEST(Synthetic, RejectsBadArguments) {
  Generator gen(0);
  EXPECT_THAT(error_message([&] { make_linear_regression(gen, 0); }), ::testing::HasSubstr("samples = 0"));
  EXPECT_THAT(error_message([&] { make_quadratic(gen, 10, 1); }), ::testing::HasSubstr("dims = 1"));
  EXPECT_THAT(error_message([&] { make_two_moons(gen, 10, -1); }), ::testing::HasSubstr("noise = -1"));
}
