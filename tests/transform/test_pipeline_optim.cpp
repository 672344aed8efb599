// The fused path end to end: GradientPipeline's factor handed to Optimizer::scaled_step must update
// the parameters as unscale_ + clip_grad_norm_ + a plain step does.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/optim/optimizer.hpp"
#include "descent/transform/clip.hpp"
#include "descent/transform/grad_norm.hpp"
#include "descent/transform/pipeline.hpp"
#include "grad_fixtures.hpp"

using namespace descent;
using namespace descent::transform;
using namespace descent::transform::testing;

namespace {

struct Model {
  Tensor weights, grads;
  std::vector<Tensor> params;
};

// Parameters as views of one weight arena, gradients as views of one gradient arena (a built model).
Model make_model(const Tensor& initial) {
  Model model{initial.clone(), zeros(initial.shape()), {}};
  std::int64_t offset = 0;
  for (const Shape& shape : {Shape{20, 10}, Shape{10}, Shape{5000}}) {
    Tensor param = as_strided(model.weights, shape, contiguous_strides(shape), offset);
    param.set_requires_grad(true);
    param.set_grad(as_strided(model.grads, shape, contiguous_strides(shape), offset));
    model.params.push_back(param);
    offset += shape.numel();
  }
  return model;
}

}  // namespace

TEST(GradientPipelineWithOptimizer, FusedStepsEqualUnscaleClipStep) {
  Generator gen(30);
  const Tensor initial = randn(Shape{5210}, gen);
  Model fused = make_model(initial), unfused = make_model(initial);
  const nlohmann::json options = {{"lr", 0.05}, {"momentum", 0.9}, {"weight_decay", 0.01}};
  auto fused_opt = optim::make_optimizer("sgd", fused.params, options);
  auto unfused_opt = optim::make_optimizer("sgd", unfused.params, options);
  const GradScalerOptions scaling{.init_scale = 512.0, .growth_interval = 2};
  GradientPipeline pipeline({.loss_scaling = scaling, .max_norm = 2.0});
  GradScaler scaler(scaling);

  int clipped_steps = 0;
  for (int step = 0; step < 6; ++step) {
    const Tensor gradient = randn(Shape{5210}, gen, DType::Float32, 0.0, step % 2 == 0 ? 0.01 : 1.0);
    fused.grads.copy_(gradient);
    unfused.grads.copy_(gradient);
    scale_grads_(fused.params, pipeline.loss_scale());  // what backward of a scaled loss would give
    scale_grads_(unfused.params, scaler.scale());

    const StepDecision decision = pipeline.apply(fused.params);
    ASSERT_FALSE(decision.skip);
    fused_opt->scaled_step(decision.grad_scale);

    ASSERT_FALSE(scaler.unscale_(unfused.params));
    const double norm = clip_grad_norm_(unfused.params, 2.0);
    scaler.update();
    unfused_opt->step();

    clipped_steps += norm > 2.0;
    EXPECT_NEAR(decision.grad_norm, norm, 1e-9 * norm) << "step " << step;
    EXPECT_EQ(pipeline.loss_scale(), scaler.scale()) << "step " << step;
    const auto got = fused.weights.to_vector<double>(), want = unfused.weights.to_vector<double>();
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-6 * std::fabs(want[i]) + 1e-7) << "step " << step << " element " << i;
  }
  EXPECT_GE(clipped_steps, 2) << "the comparison must cover clipped steps";
  EXPECT_EQ(pipeline.loss_scale(), 512.0 * 8.0) << "grew every second step";
}
