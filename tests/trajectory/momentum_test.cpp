// The heavy-ball study: SGD's momentum is Polyak's heavy ball, measured rates match the theory at
// Polyak's optimum and for gradient descent, and a grid's best is close to the optimum.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/error.hpp"
#include "descent/core/tensor.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/trajectory/functions.hpp"
#include "descent/trajectory/momentum.hpp"

namespace {

using namespace descent::trajectory;

TEST(MomentumStudy, SgdMomentumIsPolyaksHeavyBall) {
  const auto quadratic = make_function("quadratic", {.dims = 3, .condition_number = 20, .angle = 0.3});
  const double lr = 0.05, beta = 0.7;
  descent::Tensor param = descent::full(descent::Shape{3}, 1.0, descent::DType::Float64);
  param.set_grad(descent::zeros(param.shape(), descent::DType::Float64));
  auto sgd = descent::optim::make_optimizer("sgd", {param}, {{"lr", lr}, {"momentum", beta}});
  Point x{1, 1, 1}, previous = x, g(3);
  for (int t = 0; t < 50; ++t) {
    quadratic->evaluate(std::span<const double>(param.data<double>(), 3), std::span<double>(param.grad().data<double>(), 3));
    sgd->step();
    quadratic->evaluate(x, g);
    Point next(3);
    for (int i = 0; i < 3; ++i) next[i] = x[i] - lr * g[i] + beta * (x[i] - previous[i]);
    previous = x;
    x = next;
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(param.data<double>()[i], x[i], 1e-14) << t;
  }
}

TEST(MomentumStudy, TheoryFormulas) {
  const auto theory = heavy_ball_theory(1, 100);
  EXPECT_DOUBLE_EQ(theory.lr, 4.0 / 121);
  EXPECT_DOUBLE_EQ(theory.momentum, 81.0 / 121);
  EXPECT_DOUBLE_EQ(theory.rate, 9.0 / 11);
  EXPECT_DOUBLE_EQ(theory.gd_lr, 2.0 / 101);
  EXPECT_DOUBLE_EQ(theory.gd_rate, 99.0 / 101);
}

TEST(MomentumStudy, MeasuredRatesMatchTheory) {
  for (const double condition : {10.0, 100.0, 1000.0}) {
    for (const int dims : {2, 5}) {
      MomentumStudyOptions options;
      options.condition_number = condition;
      options.mu = 0.5;
      options.dims = dims;
      options.steps = 2000;
      const auto theory = heavy_ball_theory(0.5, 0.5 * condition);
      // At Polyak's optimum the iteration matrix has a double eigenvalue (a Jordan block), so the distance
      // falls like t * rate^t: over the tail of 2000 steps that raises the fitted rate by about 1e-3.
      EXPECT_NEAR(measured_rate(options, theory.lr, theory.momentum).value(), theory.rate, 3e-3)
          << condition << " " << dims;
      EXPECT_NEAR(measured_rate(options, theory.gd_lr, 0).value(), theory.gd_rate, 1e-6) << condition << " " << dims;
    }
  }
}

TEST(MomentumStudy, GridBestIsCloseToTheOptimum) {
  const auto theory = heavy_ball_theory(1, 100);
  MomentumStudyOptions options;
  options.condition_number = 100;
  options.lrs = parse_range("0.015:0.05:15", "--lrs");
  options.momenta = parse_range("0.4:0.9:26", "--momenta");
  options.steps = 600;
  const auto study = run_momentum_study(options);
  EXPECT_NEAR(study.best_rate, theory.rate, 0.02);
  EXPECT_GE(study.best_rate, theory.rate - 1e-3);  // nothing beats the optimum
  EXPECT_NEAR(study.best_momentum, theory.momentum, 0.06);
  EXPECT_NEAR(study.best_lr, theory.lr, 0.006);
  EXPECT_NEAR(study.gd_rate_measured, theory.gd_rate, 1e-6);
  const auto json = momentum_json(study);
  EXPECT_EQ(json.at("kind"), "momentum_study");
  EXPECT_EQ(json.at("rate").size(), 26u);
  EXPECT_EQ(json.at("rate")[0].size(), 15u);
  EXPECT_DOUBLE_EQ(json.at("theory").at("lr").get<double>(), theory.lr);
}

TEST(MomentumStudy, DivergingSettingsHaveRatesAboveOne) {
  MomentumStudyOptions options;
  options.condition_number = 100;
  EXPECT_GT(measured_rate(options, 0.03, 0).value(), 1.0);  // lr > 2 / L
}

TEST(MomentumStudy, BadInputIsAnError) {
  EXPECT_THROW(parse_range("0:1", "--lrs"), descent::Error);
  EXPECT_THROW(parse_range("0:1:x", "--lrs"), descent::Error);
  EXPECT_THROW(parse_range("0:1:2.5", "--lrs"), descent::Error);
  EXPECT_EQ(parse_range("0:1:3", "--lrs"), (std::vector<double>{0, 0.5, 1}));
  MomentumStudyOptions options;
  options.condition_number = 0.5;
  EXPECT_THROW(run_momentum_study(options), descent::Error);
  options.condition_number = 10;
  options.momenta = {1.0};
  EXPECT_THROW(run_momentum_study(options), descent::Error);
}

}  // namespace
