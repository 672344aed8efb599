#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "descent/core/parallel.hpp"
#include "descent/transform/grad_norm.hpp"
#include "grad_fixtures.hpp"

using namespace descent;
using namespace descent::transform;
using namespace descent::transform::testing;

namespace {

const double kNormTypes[] = {1.0, 2.0, kInfNorm, 3.0, 0.5};

void expect_norm_near(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::fabs(want))) << what;
}

// Fast path vs the plain loop on the same gradients, every norm type, with and without a multiplier.
void check_against_reference(const std::vector<Tensor>& params, const std::string& what) {
  for (double norm_type : kNormTypes) {
    for (double multiplier : {1.0, 1.0 / 65536.0, 3.0}) {
      const GradNormResult fast = global_grad_norm(params, norm_type, multiplier);
      const GradNormResult plain = global_grad_norm_reference(params, norm_type, multiplier);
      const std::string label = what + " norm_type " + std::to_string(norm_type) + " multiplier " +
                                std::to_string(multiplier);
      expect_norm_near(fast.norm, plain.norm, label);
      EXPECT_FALSE(fast.found_nonfinite) << label;
      EXPECT_GT(fast.norm, 0.0) << label;
    }
  }
}

}  // namespace

TEST(GradNorm, ArenaOfOddSizesMatchesPlainLoop) {
  Generator gen(1);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    // 1 + 7 + 33*3 + 16385 + 5: odd sizes around the block size and the vector width.
    auto model = arena_model({Shape{1}, Shape{7}, Shape{33, 3}, Shape{16385}, Shape{5}}, dtype, gen);
    EXPECT_EQ(collect_gradients(model.params, "test").runs.size(), 1u) << "adjacent views merge into one run";
    check_against_reference(model.params, std::string("arena ") + dtype_name(dtype));
  }
}

TEST(GradNorm, LooseAndNonContiguousGradientsMatchPlainLoop) {
  Generator gen(2);
  std::vector<Tensor> params;
  params.push_back(param_with_grad(randn(Shape{3, 5}, gen)));
  params.push_back(param_with_grad(transposed_grad(17, 9, DType::Float32, gen)));
  params.push_back(param_with_grad(randn(Shape{11}, gen, DType::Float64)));
  params.push_back(param_with_grad(transposed_grad(4, 3, DType::Float64, gen)));
  params.push_back(zeros(Shape{6}));  // no gradient: skipped
  const GradientLayout layout = collect_gradients(params, "test");
  EXPECT_EQ(layout.runs.size(), 2u);
  EXPECT_EQ(layout.strided.size(), 2u);
  EXPECT_EQ(layout.tensors, 4);
  check_against_reference(params, "loose + strided");
}

TEST(GradNorm, LargeArenaIsIndependentOfThreadCount) {
  Generator gen(3);
  auto model = arena_model({Shape{300001}, Shape{512, 129}, Shape{3}}, DType::Float32, gen);
  const double threaded = global_grad_norm(model.params, 2.0).norm;
  // A call from inside a parallel region runs on one thread (parallel_for runs nested loops inline).
  // This avoids set_num_threads, whose pool resize is not safe to use here yet (see the transform report).
  double single_thread = -1.0;
  parallel_for(0, 2, 1, [&](std::int64_t begin, std::int64_t) {
    if (begin == 0) single_thread = global_grad_norm(model.params, 2.0).norm;
  });
  EXPECT_EQ(threaded, single_thread);
  check_against_reference(model.params, "large arena");
}

TEST(GradNorm, HandComputedValues) {
  std::vector<Tensor> params = {param_with_grad(tensor({3.0f, -4.0f})), param_with_grad(tensor({-12.0f}))};
  EXPECT_DOUBLE_EQ(global_grad_norm(params, 2.0).norm, 13.0);
  EXPECT_DOUBLE_EQ(global_grad_norm(params, 1.0).norm, 19.0);
  EXPECT_DOUBLE_EQ(global_grad_norm(params, kInfNorm).norm, 12.0);
  EXPECT_NEAR(global_grad_norm(params, 3.0).norm, std::cbrt(27.0 + 64.0 + 1728.0), 1e-12);
  EXPECT_DOUBLE_EQ(global_grad_norm(params, 2.0, 0.5).norm, 6.5);
  EXPECT_EQ(global_grad_norm(std::vector<Tensor>{}, 2.0).norm, 0.0);
}

TEST(GradNorm, DetectsNanAndInfAnywhere) {
  Generator gen(4);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = kInfNorm;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (std::int64_t position : {std::int64_t(0), std::int64_t(9), std::int64_t(20000), std::int64_t(40002)}) {
      for (double bad : {nan, inf, -inf}) {
        auto model = arena_model({Shape{20000}, Shape{20003}}, dtype, gen);
        dispatch_floating(dtype, "test", [&](auto zero) {
          model.arena.data<decltype(zero)>()[position] = decltype(zero)(bad);
          return 0;
        });
        for (double norm_type : kNormTypes) {
          const GradNormResult fast = global_grad_norm(model.params, norm_type);
          const GradNormResult plain = global_grad_norm_reference(model.params, norm_type);
          const std::string label = std::string(dtype_name(dtype)) + " value " + std::to_string(bad) + " at " +
                                    std::to_string(position) + " norm_type " + std::to_string(norm_type);
          EXPECT_TRUE(fast.found_nonfinite) << label;
          EXPECT_TRUE(plain.found_nonfinite) << label;
          EXPECT_EQ(std::isnan(fast.norm), std::isnan(bad)) << label;
          EXPECT_EQ(std::isnan(plain.norm), std::isnan(bad)) << label;
          if (!std::isnan(bad)) {
            EXPECT_EQ(fast.norm, inf) << label;
          }
        }
      }
    }
  }
}

TEST(GradNorm, DetectsNonFiniteInStridedGradient) {
  Generator gen(5);
  Tensor grad = transposed_grad(5, 4, DType::Float32, gen);
  static_cast<float*>(grad.storage()->data())[7] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<Tensor> params = {param_with_grad(randn(Shape{8}, gen)), param_with_grad(grad)};
  EXPECT_TRUE(global_grad_norm(params, 2.0).found_nonfinite);
  EXPECT_TRUE(global_grad_norm(params, kInfNorm).found_nonfinite);
}

TEST(GradNorm, MultiplierOverflowIsNonFinite) {
  // A finite float32 gradient times a large multiplier overflows in float32: the unscaled value is
  // what counts, as if the gradient had been multiplied in place first.
  const std::vector<Tensor> params = {param_with_grad(tensor({3e38f, 1.0f}))};
  EXPECT_FALSE(global_grad_norm(params, 2.0).found_nonfinite);
  EXPECT_TRUE(global_grad_norm(params, 2.0, 4.0).found_nonfinite);
  EXPECT_TRUE(global_grad_norm_reference(params, 2.0, 4.0).found_nonfinite);
}

TEST(GradNorm, ScaleGradsMatchesElementwiseProduct) {
  Generator gen(6);
  auto model = arena_model({Shape{40001}, Shape{3, 3}}, DType::Float32, gen);
  Tensor strided = transposed_grad(6, 7, DType::Float64, gen);
  model.params.push_back(param_with_grad(strided));
  const auto before = grad_values(model.params);
  scale_grads_(model.params, 0.375);
  const auto after = grad_values(model.params);
  ASSERT_EQ(before.size(), after.size());
  const std::size_t float_elements = 40001 + 9;  // the arena; the strided gradient is float64
  for (std::size_t i = 0; i < before.size(); ++i) {
    const double want = i < float_elements ? double(float(before[i]) * 0.375f) : before[i] * 0.375;
    ASSERT_EQ(after[i], want) << i;
  }
}

TEST(GradNorm, RejectsNaNNormTypeAndIntegerGradients) {
  const std::vector<Tensor> params = {param_with_grad(tensor({1.0f}))};
  try {
    global_grad_norm(params, std::numeric_limits<double>::quiet_NaN());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("norm_type"), std::string::npos) << e.what();
  }
  Tensor int_param = zeros(Shape{2}, DType::Int64);
  int_param.impl()->grad = zeros(Shape{2}, DType::Int64).impl_ptr();
  EXPECT_THROW(global_grad_norm(std::vector<Tensor>{int_param}), Error);
}
