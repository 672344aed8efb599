#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "descent/core/error.hpp"
#include "descent/core/rng.hpp"
#include "descent/transform/accumulation.hpp"

using namespace descent;
using namespace descent::transform;

namespace {

// A linear model y = w . x + b under the mean squared error L = 1/n sum_i (w . x_i + b - y_i)^2, with
// its gradient written out: dL/dw = 2/n sum_i r_i x_i, dL/db = 2/n sum_i r_i, r_i = w . x_i + b - y_i.
struct LinearProblem {
  static constexpr int kFeatures = 5;
  std::vector<std::array<double, kFeatures>> x;
  std::vector<double> y;

  // Gradient of the mean loss over examples [first, first + count), times `weight`, added into grad.
  void add_gradient(const std::vector<double>& params, int first, int count, double weight,
                    std::vector<double>& grad) const {
    for (int i = first; i < first + count; ++i) {
      double r = params[kFeatures] - y[std::size_t(i)];
      for (int j = 0; j < kFeatures; ++j) r += params[std::size_t(j)] * x[std::size_t(i)][std::size_t(j)];
      for (int j = 0; j < kFeatures; ++j) grad[std::size_t(j)] += weight * 2.0 / count * r * x[std::size_t(i)][std::size_t(j)];
      grad[kFeatures] += weight * 2.0 / count * r;
    }
  }
};

LinearProblem make_problem(int examples, Generator& gen) {
  LinearProblem problem;
  for (int i = 0; i < examples; ++i) {
    std::array<double, LinearProblem::kFeatures> row{};
    for (double& v : row) v = gen.normal();
    problem.x.push_back(row);
    problem.y.push_back(gen.normal());
  }
  return problem;
}

}  // namespace

TEST(GradientAccumulator, KMicroBatchesEqualOneLargeBatchOverSeveralSgdSteps) {
  constexpr int k = 4, micro = 3, steps = 5;
  Generator gen(10);
  const LinearProblem problem = make_problem(k * micro * steps, gen);
  std::vector<double> accumulated(LinearProblem::kFeatures + 1, 0.1), large = accumulated;
  GradientAccumulator accumulator(k);
  const double lr = 0.05;
  int micro_batches_seen = 0;
  for (int step = 0; step < steps; ++step) {
    std::vector<double> grad(accumulated.size(), 0.0);
    for (int m = 0; m < k; ++m) {
      problem.add_gradient(accumulated, (step * k + m) * micro, micro, accumulator.loss_weight(), grad);
      const bool step_now = accumulator.micro_batch_done();
      ++micro_batches_seen;
      EXPECT_EQ(step_now, m == k - 1) << "micro-batch " << micro_batches_seen;
    }
    std::vector<double> large_grad(large.size(), 0.0);
    problem.add_gradient(large, step * k * micro, k * micro, 1.0, large_grad);
    for (std::size_t j = 0; j < grad.size(); ++j) {
      EXPECT_NEAR(grad[j], large_grad[j], 1e-13 * std::max(1.0, std::fabs(large_grad[j]))) << step << " " << j;
      accumulated[j] -= lr * grad[j];
      large[j] -= lr * large_grad[j];
    }
  }
  for (std::size_t j = 0; j < large.size(); ++j) EXPECT_NEAR(accumulated[j], large[j], 1e-12);
}

TEST(GradientAccumulator, PartialGroupCorrectionGivesTheMeanOfWhatWasSeen) {
  constexpr int k = 4, micro = 2;
  Generator gen(11);
  const LinearProblem problem = make_problem(2 * micro, gen);
  const std::vector<double> params(LinearProblem::kFeatures + 1, -0.2);
  GradientAccumulator accumulator(k);
  std::vector<double> grad(params.size(), 0.0);
  for (int m = 0; m < 2; ++m) {
    problem.add_gradient(params, m * micro, micro, accumulator.loss_weight(), grad);
    EXPECT_FALSE(accumulator.micro_batch_done());
  }
  EXPECT_EQ(accumulator.pending(), 2);
  EXPECT_DOUBLE_EQ(accumulator.partial_group_correction(), 2.0);
  std::vector<double> want(params.size(), 0.0);
  problem.add_gradient(params, 0, 2 * micro, 1.0, want);
  for (std::size_t j = 0; j < grad.size(); ++j)
    EXPECT_NEAR(grad[j] * accumulator.partial_group_correction(), want[j], 1e-13) << j;
  EXPECT_TRUE(accumulator.flush());
  EXPECT_FALSE(accumulator.flush());
  EXPECT_THROW(accumulator.partial_group_correction(), Error);
}

TEST(GradientAccumulator, StateRoundTripAndInvalidOptions) {
  GradientAccumulator accumulator(3);
  accumulator.micro_batch_done();
  GradientAccumulator restored(3);
  restored.load_state_dict(accumulator.state_dict());
  EXPECT_EQ(restored.pending(), 1);
  EXPECT_FALSE(restored.micro_batch_done());
  EXPECT_TRUE(restored.micro_batch_done());
  GradientAccumulator other(5);
  EXPECT_THROW(other.load_state_dict(accumulator.state_dict()), Error);
  EXPECT_THROW(GradientAccumulator(0), Error);
  EXPECT_THROW(GradientAccumulator(-2), Error);
  EXPECT_EQ(GradientAccumulator(1).loss_weight(), 1.0);
}
