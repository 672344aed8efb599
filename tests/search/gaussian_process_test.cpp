// The GP's kernel, Cholesky, posterior and likelihood on cases small enough to compute by hand, the
// likelihood gradient against finite differences, and expected improvement.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "descent/core/error.hpp"
#include "descent/search/gaussian_process.hpp"

namespace descent::search {
namespace {

GpHyperparameters hyper(std::vector<double> lengthscales, double signal, double noise) {
  GpHyperparameters h;
  for (double l : lengthscales) h.log_lengthscales.push_back(std::log(l));
  h.log_signal_variance = std::log(signal);
  h.log_noise_variance = std::log(noise);
  return h;
}

TEST(Matern52, MatchesTheClosedForm) {
  const auto h = hyper({2.0, 0.5}, 1.5, 1e-6);
  const std::vector<double> a = {0.1, 0.2}, b = {0.7, 0.0};
  // r = sqrt((0.6 / 2)^2 + (0.2 / 0.5)^2) = sqrt(0.09 + 0.16) = 0.5
  const double r = 0.5;
  const double expected = 1.5 * (1 + std::sqrt(5.0) * r + 5.0 / 3.0 * r * r) * std::exp(-std::sqrt(5.0) * r);
  EXPECT_NEAR(matern52(a, b, h), expected, 1e-15);
  EXPECT_NEAR(expected, 1.5 * 0.8286491, 1e-7);  // (1 + 1.118034 + 0.416667) * exp(-1.118034)
  EXPECT_DOUBLE_EQ(matern52(a, a, h), 1.5);
}

TEST(Cholesky, FactorsAHandCase) {
  // [[4, 2], [2, 3]] = L L^T with L = [[2, 0], [1, sqrt(2)]]
  std::vector<double> m = {4, 2, 2, 3};
  EXPECT_EQ(cholesky_with_jitter(m, 2), 0.0);
  EXPECT_DOUBLE_EQ(m[0], 2.0);
  EXPECT_DOUBLE_EQ(m[1], 0.0);
  EXPECT_DOUBLE_EQ(m[2], 1.0);
  EXPECT_DOUBLE_EQ(m[3], std::sqrt(2.0));
}

TEST(Cholesky, AddsJitterToASingularMatrixAndRefusesAnIndefiniteOne) {
  std::vector<double> singular = {1, 1, 1, 1};
  const double jitter = cholesky_with_jitter(singular, 2);
  EXPECT_GT(jitter, 0.0);
  EXPECT_LE(jitter, 1e-4);
  // L L^T reproduces the matrix plus jitter on the diagonal.
  EXPECT_NEAR(singular[0] * singular[0], 1.0 + jitter, 1e-12);
  EXPECT_NEAR(singular[2] * singular[0], 1.0, 1e-12);
  EXPECT_NEAR(singular[2] * singular[2] + singular[3] * singular[3], 1.0 + jitter, 1e-12);
  std::vector<double> indefinite = {1, 2, 2, 1};
  EXPECT_THROW(cholesky_with_jitter(indefinite, 2), Error);
}

TEST(GaussianProcess, TwoPointPosteriorAndLikelihoodByHand) {
  // Inputs 0 and 1, lengthscale 1, signal 1, noise 0.01, targets 1 and -1.
  const double noise = 0.01;
  const double k = (1 + std::sqrt(5.0) + 5.0 / 3.0) * std::exp(-std::sqrt(5.0));  // k(0, 1)
  const GaussianProcess gp({{0.0}, {1.0}}, {1.0, -1.0}, hyper({1.0}, 1.0, noise));
  // K = [[a, k], [k, a]] with a = 1.01: alpha = K^-1 y = (1, -1) / (a - k) for y = (1, -1).
  const double a = 1.0 + noise;
  const double alpha = 1.0 / (a - k);
  const double det = a * a - k * k;
  const double lml = -0.5 * 2.0 * alpha - 0.5 * std::log(det) - std::log(2.0 * std::numbers::pi);
  EXPECT_NEAR(gp.log_marginal_likelihood(), lml, 1e-12);
  // At x = 0.5 the kernel to both points is equal, so the mean is 0 and the variance is
  // 1 - 2 k_h^2 / (a + k) (k_* = (k_h, k_h) lies along the eigenvector (1, 1) of K, eigenvalue a + k).
  const double kh = (1 + std::sqrt(5.0) * 0.5 + 5.0 / 12.0) * std::exp(-std::sqrt(5.0) * 0.5);
  const std::vector<double> middle = {0.5};
  const auto p = gp.predict(middle);
  EXPECT_NEAR(p.mean, 0.0, 1e-14);
  EXPECT_NEAR(p.variance, 1.0 - 2.0 * kh * kh / (a + k), 1e-12);
  // At a training input, the mean is k_*^T alpha = (1 - k) * alpha; nearly the target for small noise.
  const std::vector<double> zero = {0.0};
  EXPECT_NEAR(gp.predict(zero).mean, (1.0 - k) * alpha, 1e-12);
  EXPECT_NEAR(gp.predict(zero).mean, 1.0, 0.03);
}

TEST(GaussianProcess, LikelihoodGradientMatchesFiniteDifferences) {
  Generator generator(7);
  std::vector<std::vector<double>> inputs;
  std::vector<double> targets;
  for (int i = 0; i < 9; ++i) {
    inputs.push_back({generator.uniform(), generator.uniform(), generator.uniform()});
    targets.push_back(std::sin(6 * inputs.back()[0]) + inputs.back()[1] - 0.5 * inputs.back()[2]);
  }
  GpHyperparameters h = hyper({0.3, 0.8, 1.7}, 1.3, 0.02);
  const auto gradient = GaussianProcess(inputs, targets, h).log_marginal_likelihood_gradient();
  ASSERT_EQ(gradient.size(), 5u);
  auto lml_at = [&](std::size_t i, double delta) {
    GpHyperparameters moved = h;
    if (i < 3) moved.log_lengthscales[i] += delta;
    if (i == 3) moved.log_signal_variance += delta;
    if (i == 4) moved.log_noise_variance += delta;
    return GaussianProcess(inputs, targets, moved).log_marginal_likelihood();
  };
  for (std::size_t i = 0; i < 5; ++i) {
    const double eps = 1e-5;
    const double numeric = (lml_at(i, eps) - lml_at(i, -eps)) / (2 * eps);
    EXPECT_NEAR(gradient[i], numeric, 1e-5 * std::max(1.0, std::abs(numeric))) << "parameter " << i;
  }
}

TEST(GaussianProcess, FittingRaisesTheLikelihoodAndFindsTheIrrelevantInput) {
  Generator generator(3);
  std::vector<std::vector<double>> inputs;
  std::vector<double> targets;
  for (int i = 0; i < 25; ++i) {
    inputs.push_back({generator.uniform(), generator.uniform()});
    targets.push_back(std::sin(5 * inputs.back()[0]));  // the second input does not matter
  }
  GpHyperparameters start = hyper({0.5, 0.5}, 1.0, 1e-3);
  const double before = GaussianProcess(inputs, targets, start).log_marginal_likelihood();
  Generator fit_generator(1);
  const GpHyperparameters fitted = fit_gp_hyperparameters(inputs, targets, fit_generator, 3);
  EXPECT_GT(GaussianProcess(inputs, targets, fitted).log_marginal_likelihood(), before + 1.0);
  EXPECT_GT(fitted.log_lengthscales[1], fitted.log_lengthscales[0] + 1.0);  // ARD: longer for the ignored input
}

TEST(ExpectedImprovement, KnownValues) {
  EXPECT_NEAR(expected_improvement(0.0, 1.0, 0.0, 0.0), 1.0 / std::sqrt(2 * std::numbers::pi), 1e-15);
  // gain 1, sd 1: Phi(1) + phi(1) = 0.8413447 + 0.2419707
  EXPECT_NEAR(expected_improvement(-1.0, 1.0, 0.0, 0.0), 1.0833155, 1e-7);
  EXPECT_NEAR(expected_improvement(-1.0, 1.0, 0.0, 1.0), 1.0 / std::sqrt(2 * std::numbers::pi), 1e-15);
  EXPECT_EQ(expected_improvement(-2.0, 0.0, 0.0, 0.0), 2.0);
  EXPECT_EQ(expected_improvement(2.0, 0.0, 0.0, 0.0), 0.0);
  EXPECT_GT(expected_improvement(2.0, 1.0, 0.0, 0.0), 0.0);
}

}  // namespace
}  // namespace descent::search
