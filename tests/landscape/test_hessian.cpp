// Power iteration and finite-difference Hessian-vector products against Hessians known in closed form.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "descent/landscape/hessian.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/loss.hpp"

using namespace descent;
using namespace descent::landscape;

namespace {

using Matrix = std::vector<std::vector<double>>;

// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations: a direct method independent of the
// power iteration under test.
std::vector<double> jacobi_eigenvalues(Matrix a) {
  const std::size_t n = a.size();
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) {
        if (std::abs(a[p][q]) < 1e-300) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < n; ++k) {  // rotate columns p and q
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < n; ++k) {  // then rows
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
  }
  std::vector<double> eigenvalues;
  for (std::size_t i = 0; i < n; ++i) eigenvalues.push_back(a[i][i]);
  std::sort(eigenvalues.begin(), eigenvalues.end());
  return eigenvalues;
}

}  // namespace

TEST(PowerIteration, FindsTheLargestEigenvalueOfAnExplicitMatrixAndRecordsEveryIteration) {
  const Matrix m = {{4, 1, 0}, {1, 3, 0}, {0, 0, -1}};
  const auto product = [&](std::span<const double> v) {
    FlatVector out(3, 0.0);
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t j = 0; j < 3; ++j) out[i] += m[i][j] * v[j];
    return out;
  };
  PowerIterationOptions options;
  options.max_iterations = 200;
  options.tolerance = 1e-12;
  const auto result = power_iteration(3, product, options);
  EXPECT_NEAR(result.top_eigenvalue, jacobi_eigenvalues(m).back(), 1e-9);
  EXPECT_NEAR(result.top_eigenvalue, (7 + std::sqrt(5.0)) / 2, 1e-9);
  EXPECT_TRUE(result.converged);
  EXPECT_GT(result.iterations.size(), 2u);
  EXPECT_EQ(result.iterations.back(), result.top_eigenvalue);
  // Too few iterations: not converged, and the estimate has not yet settled.
  options.max_iterations = 1;
  const auto short_run = power_iteration(3, product, options);
  EXPECT_FALSE(short_run.converged);
  EXPECT_EQ(short_run.iterations.size(), 1u);
  options.max_iterations = 0;
  EXPECT_THROW(power_iteration(3, product, options), Error);
}

// Linear regression with MSE: L(w, b) = mean((X w + b - y)^2), whose Hessian with respect to (w, b) is
// 2 [X 1]^T [X 1] / n, constant: the central difference of gradients is exact up to rounding.
TEST(Hessian, TopEigenvalueOfLinearRegressionMatchesTheClosedForm) {
  const std::int64_t n = 64, d = 4;
  Generator gen(7);
  std::vector<float> x(static_cast<std::size_t>(n * d)), y(static_cast<std::size_t>(n));
  const double column_scale[] = {2.0, 1.0, 0.5, 0.25};  // distinct curvatures: a clear eigen-gap
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < d; ++j) x[std::size_t(i * d + j)] = float(column_scale[j] * gen.normal() + 0.3);
    y[std::size_t(i)] = float(gen.normal());
  }
  const data::TensorDataset dataset(from_vector<float>(x, Shape{n, d}), from_vector<float>(y, Shape{n, 1}));
  nn::Linear model(d, 1, gen);
  const LossProbe probe(dataset, 0, 16, [](const Tensor& out, const Tensor& target) { return nn::mse_loss(out, target); });

  Matrix hessian(std::size_t(d + 1), std::vector<double>(std::size_t(d + 1), 0.0));
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<double> row;  // [x_i, 1]: parameters are the weight row then the bias
    for (std::int64_t j = 0; j < d; ++j) row.push_back(double(x[std::size_t(i * d + j)]));
    row.push_back(1.0);
    for (std::size_t a = 0; a < row.size(); ++a)
      for (std::size_t b = 0; b < row.size(); ++b) hessian[a][b] += 2.0 * row[a] * row[b] / double(n);
  }
  const double expected = jacobi_eigenvalues(hessian).back();

  const FlatVector before = get_parameters(model);
  PowerIterationOptions options;
  options.max_iterations = 300;
  options.tolerance = 1e-9;
  options.seed = 3;
  const auto result = top_hessian_eigenvalue(model, probe, options);
  EXPECT_NEAR(result.top_eigenvalue, expected, 1e-3 * expected);
  EXPECT_TRUE(result.converged);
  EXPECT_GT(result.epsilon, 0.0);
  EXPECT_EQ(get_parameters(model), before) << "the parameters are restored";
  EXPECT_NE(hessian_method_description(result, probe.samples()).find("finite-difference"), std::string::npos);
}

// A loss that is not quadratic, so the central difference carries an O(eps^2) error: logistic loss of a
// linear model on one sample, L(w) = bce_with_logits(w . x, 1), whose Hessian s (1 - s) x x^T (s the
// sigmoid of w . x) has the one non-zero eigenvalue s (1 - s) ||x||^2.
TEST(Hessian, FiniteDifferencesMatchTheAnalyticCurvatureOfLogisticLoss) {
  Generator gen(2);
  const std::int64_t d = 3;
  const std::vector<float> x = {0.5f, -1.0f, 2.0f};
  const data::TensorDataset dataset(from_vector<float>(x, Shape{1, d}), from_vector<float>(std::vector<float>{1.0f}, Shape{1, 1}));
  nn::Linear model(d, 1, gen, /*bias=*/false);
  const LossProbe probe(dataset, 0, 1, [](const Tensor& out, const Tensor& target) {
    return nn::binary_cross_entropy_with_logits(out, target);
  });
  const auto w = get_parameters(model);
  double z = 0, xx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    z += w[i] * x[i];
    xx += double(x[i]) * x[i];
  }
  const double s = 1 / (1 + std::exp(-z));
  PowerIterationOptions options;
  options.max_iterations = 50;
  options.tolerance = 1e-7;
  const auto result = top_hessian_eigenvalue(model, probe, options);
  EXPECT_NEAR(result.top_eigenvalue, s * (1 - s) * xx, 2e-3 * s * (1 - s) * xx);
}
