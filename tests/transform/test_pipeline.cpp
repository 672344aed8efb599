#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "descent/transform/agc.hpp"
#include "descent/transform/clip.hpp"
#include "descent/transform/grad_norm.hpp"
#include "descent/transform/pipeline.hpp"
#include "grad_fixtures.hpp"

using namespace descent;
using namespace descent::transform;
using namespace descent::transform::testing;

namespace {

// A model whose gradients hold `scale` times N(0, 1) values, and an independent deep copy of it.
struct TwinModels {
  ArenaModel fused, unfused;
};

TwinModels twin_models(double scale, std::uint64_t seed) {
  Generator gen(seed);
  const std::vector<Shape> shapes = {Shape{33, 17}, Shape{17}, Shape{40000}, Shape{3}};
  TwinModels twins{arena_model(shapes, DType::Float32, gen), {}};
  float* data = twins.fused.arena.data<float>();
  for (std::int64_t i = 0; i < twins.fused.arena.numel(); ++i) data[i] *= float(scale);
  Tensor arena = twins.fused.arena.clone();
  twins.unfused.arena = arena;
  std::int64_t offset = 0;
  for (const Shape& shape : shapes) {
    twins.unfused.params.push_back(param_with_grad(as_strided(arena, shape, contiguous_strides(shape), offset)));
    offset += shape.numel();
  }
  return twins;
}

void expect_fused_equals_unfused(const std::vector<Tensor>& fused, double grad_scale,
                                 const std::vector<Tensor>& unfused, const std::string& what) {
  const auto f = grad_values(fused), u = grad_values(unfused);
  ASSERT_EQ(f.size(), u.size());
  for (std::size_t i = 0; i < f.size(); ++i) {
    const double got = double(float(f[i]) * float(grad_scale));
    ASSERT_NEAR(got, u[i], 2e-7 * std::fabs(u[i]) + 1e-30) << what << " element " << i;
  }
}

}  // namespace

TEST(GradientPipeline, FusedScaleEqualsUnscaleThenClipForEveryNormType) {
  for (double norm_type : {2.0, 1.0, kInfNorm, 3.0}) {
    auto twins = twin_models(1024.0, 20);
    const auto scaled_before = grad_values(twins.fused.params);
    GradientPipeline pipeline({.loss_scaling = GradScalerOptions{.init_scale = 1024.0}, .max_norm = 1.5,
                               .norm_type = norm_type});
    EXPECT_EQ(pipeline.loss_scale(), 1024.0);
    const StepDecision decision = pipeline.apply(twins.fused.params);
    EXPECT_EQ(grad_values(twins.fused.params), scaled_before) << "apply only reads the gradients";

    GradScaler scaler({.init_scale = 1024.0});
    EXPECT_FALSE(scaler.unscale_(twins.unfused.params));
    const double total = clip_grad_norm_(twins.unfused.params, 1.5, norm_type);

    const std::string what = "norm_type " + std::to_string(norm_type);
    EXPECT_FALSE(decision.skip) << what;
    EXPECT_FALSE(decision.found_nonfinite) << what;
    EXPECT_NEAR(decision.grad_norm, total, 1e-12 * total) << what;
    EXPECT_LT(decision.grad_scale, 1.0 / 1024.0) << what << ": clipping is active";
    expect_fused_equals_unfused(twins.fused.params, decision.grad_scale, twins.unfused.params, what);
    EXPECT_EQ(pipeline.scaler()->growth_tracker(), 1) << "apply() updates the scaler";
  }
}

TEST(GradientPipeline, WithoutClippingTheScaleIsTheInverseLossScale) {
  auto twins = twin_models(256.0, 21);
  GradientPipeline pipeline({.loss_scaling = GradScalerOptions{.init_scale = 256.0}});
  const StepDecision decision = pipeline.apply(twins.fused.params);
  EXPECT_EQ(decision.grad_scale, 1.0 / 256.0);
  EXPECT_NEAR(decision.grad_norm, global_grad_norm(twins.fused.params).norm / 256.0, 1e-9);
  GradientPipeline plain;
  EXPECT_EQ(plain.loss_scale(), 1.0);
  EXPECT_EQ(plain.apply(twins.fused.params).grad_scale, 1.0);
}

TEST(GradientPipeline, OverflowWithLossScalingSkipsAndBacksOff) {
  auto twins = twin_models(1.0, 22);
  GradientPipeline pipeline({.loss_scaling = GradScalerOptions{.init_scale = 4096.0},
                             .nonfinite_policy = NonFinitePolicy::Raise, .max_norm = 1.0});
  twins.fused.arena.data<float>()[100] = std::numeric_limits<float>::infinity();
  const StepDecision decision = pipeline.apply(twins.fused.params);
  EXPECT_TRUE(decision.skip);
  EXPECT_TRUE(decision.found_nonfinite);
  EXPECT_EQ(pipeline.loss_scale(), 2048.0);
  EXPECT_EQ(pipeline.steps_skipped(), 1);
  twins.fused.arena.data<float>()[100] = 0.0f;
  EXPECT_FALSE(pipeline.apply(twins.fused.params).skip);
  EXPECT_EQ(pipeline.steps(), 2);
}

TEST(GradientPipeline, NonFinitePolicyWithoutLossScaling) {
  auto twins = twin_models(1.0, 23);
  GradientPipeline skipping({.nonfinite_policy = NonFinitePolicy::Skip, .max_norm = 1.0});
  GradientPipeline raising({.nonfinite_policy = NonFinitePolicy::Raise, .max_norm = 1.0});
  EXPECT_FALSE(skipping.apply(twins.fused.params).skip);
  EXPECT_FALSE(raising.apply(twins.fused.params).skip);
  twins.fused.arena.data<float>()[33 * 17 + 2] = std::numeric_limits<float>::quiet_NaN();
  const StepDecision decision = skipping.apply(twins.fused.params);
  EXPECT_TRUE(decision.skip);
  EXPECT_TRUE(std::isnan(decision.grad_norm));
  EXPECT_EQ(skipping.guard().steps_skipped(), 1);
  raising.set_parameter_names({"layer.weight", "layer.bias", "embedding", "head"});
  try {
    raising.apply(twins.fused.params);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("step 2"), std::string::npos) << message;
    EXPECT_NE(message.find("'layer.bias'"), std::string::npos) << message;
    EXPECT_NE(message.find("element 2"), std::string::npos) << message;
  }
}

TEST(GradientPipeline, ValueClipAndAgcThenNormClipEqualTheUnfusedSequence) {
  Generator gen(24);
  std::vector<Tensor> fused, unfused;
  for (const Shape& shape : {Shape{8, 6}, Shape{6}, Shape{4, 2, 3, 3}}) {
    Tensor weight = randn(shape, gen);
    Tensor grad = randn(shape, gen, DType::Float32, 0.0, 64.0 * 2.0);  // loss scale 64, gradients ~ N(0, 2)
    Tensor a = weight.clone(), b = weight.clone();
    a.set_grad(grad.clone());
    b.set_grad(grad.clone());
    fused.push_back(a);
    unfused.push_back(b);
  }
  const AgcOptions agc{.clipping = 0.5, .eps = 1e-3};
  GradientPipeline pipeline({.loss_scaling = GradScalerOptions{.init_scale = 64.0}, .max_norm = 3.0,
                             .clip_value = 0.8, .agc = agc});
  const StepDecision decision = pipeline.apply(fused);

  GradScaler scaler({.init_scale = 64.0});
  const double norm_before = global_grad_norm(unfused, 2.0, 1.0 / 64.0).norm;
  scaler.unscale_(unfused);
  EXPECT_GT(adaptive_grad_clip_(unfused, agc), 0);
  clip_grad_value_(unfused, 0.8);
  clip_grad_norm_(unfused, 3.0);
  EXPECT_NEAR(decision.grad_norm, norm_before, 1e-12 * norm_before);
  EXPECT_LT(decision.grad_scale, 1.0) << "norm clipping is active after the in-place stages";
  expect_fused_equals_unfused(fused, decision.grad_scale, unfused, "agc + value + norm");
}

TEST(GradientPipeline, PercentileClippingCombinesWithMaxNorm) {
  GradientPipeline pipeline({.max_norm = 6.0, .percentile_clip = PercentileClipOptions{.percentile = 50.0, .window = 10}});
  std::vector<Tensor> params = {param_with_grad(tensor({3.0f, 4.0f}))};  // norm 5
  // Step 1: window {5}, threshold 5.
  EXPECT_DOUBLE_EQ(pipeline.apply(params).grad_scale, 5.0 / (5.0 + 1e-6));
  // Step 2: norm 10, window {5, 10}, median 7.5, capped by max_norm 6.
  params[0].grad().fill_(0.0).data<float>()[0] = 10.0f;
  EXPECT_DOUBLE_EQ(pipeline.apply(params).grad_scale, 6.0 / (10.0 + 1e-6));
  // Step 3: norm 0.5, window {5, 10, 0.5}, median 5: no clipping.
  params[0].grad().data<float>()[0] = 0.5f;
  EXPECT_EQ(pipeline.apply(params).grad_scale, 1.0);
  EXPECT_EQ(pipeline.percentile_clip()->recorded(), 3);
}

TEST(GradientPipeline, StateRoundTripContinuesIdentically) {
  const GradientPipelineOptions options{.loss_scaling = GradScalerOptions{.init_scale = 32.0, .growth_interval = 2},
                                        .percentile_clip = PercentileClipOptions{.percentile = 30.0, .window = 3}};
  GradientPipeline original(options);
  Generator gen(25);
  std::vector<std::vector<Tensor>> steps;
  for (int i = 0; i < 7; ++i) steps.push_back({param_with_grad(randn(Shape{10}, gen, DType::Float32, 0.0, 32.0 * (i + 1)))});
  for (int i = 0; i < 4; ++i) original.apply(steps[std::size_t(i)]);
  GradientPipeline restored(options);
  restored.load_state_dict(nlohmann::json::parse(original.state_dict().dump()));
  EXPECT_EQ(restored.loss_scale(), original.loss_scale());
  for (int i = 4; i < 7; ++i) {
    const StepDecision a = original.apply(steps[std::size_t(i)]), b = restored.apply(steps[std::size_t(i)]);
    EXPECT_EQ(a.grad_scale, b.grad_scale) << i;
    EXPECT_EQ(a.grad_norm, b.grad_norm) << i;
    EXPECT_EQ(original.loss_scale(), restored.loss_scale()) << i;
  }
  GradientPipeline without_scaler;
  EXPECT_THROW(restored.load_state_dict(without_scaler.state_dict()), Error);
}

TEST(GradientPipeline, RejectsInvalidOptions) {
  EXPECT_THROW(GradientPipeline({.max_norm = -1.0}), Error);
  EXPECT_THROW(GradientPipeline({.norm_type = 0.0}), Error);
  EXPECT_THROW(GradientPipeline({.percentile_clip = PercentileClipOptions{.percentile = 0.0}}), Error);
  EXPECT_THROW(GradientPipeline({.percentile_clip = PercentileClipOptions{.percentile = 100.1}}), Error);
  EXPECT_THROW(GradientPipeline({.clip_value = -0.1}), Error);
  EXPECT_THROW(GradientPipeline({.agc = AgcOptions{.clipping = 0.0}}), Error);
  EXPECT_THROW(GradientPipeline({.loss_scaling = GradScalerOptions{.growth_factor = 1.0}}), Error);
  EXPECT_THROW(GradientPipeline({.loss_scaling = GradScalerOptions{.backoff_factor = 1.5}}), Error);
}
