// The base class: zero_grad, skipping parameters without gradient, grad_scale, hyperparameters, groups,
// state sizes, bfloat16 state, the closure form of step, and the weight-decay split.
#include "helpers.hpp"

namespace descent::optim::testing {
namespace {

TEST(OptimizerBase, ZeroGradZeroesEveryDefinedGradientAndKeepsStorage) {
  auto set = make_params({5, 7, 9}, true, 2);
  fill_grads(set.params, 2, 0);
  Generator gen(1);
  Tensor separate = rand(Shape{4}, gen);
  separate.set_grad(ones(Shape{4}));
  Tensor no_grad = zeros(Shape{2});
  std::vector<Tensor> params = set.params;
  params.push_back(separate);
  params.push_back(no_grad);
  auto sgd = make_optimizer("sgd", params, {});
  const void* before = set.params[1].grad().raw_data();
  sgd->zero_grad();
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    for (double v : p.grad().to_vector<double>()) ASSERT_EQ(v, 0.0);
  }
  EXPECT_EQ(set.params[1].grad().raw_data(), before);
  EXPECT_FALSE(no_grad.grad().defined());
}

TEST(OptimizerBase, ParametersWithoutGradientAreSkippedAndKeepTheirStepCount) {
  auto set = make_params({4, 4, 4}, true, 3);
  auto adam = make_optimizer("adam", set.params, {{"lr", 0.1}});
  fill_grads(set.params, 3, 0);
  const auto middle_before = set.params[1].to_vector<float>();
  set.params[1].set_grad(Tensor());
  adam->step();
  EXPECT_EQ(set.params[1].to_vector<float>(), middle_before);
  const auto state = adam->state_dict();
  EXPECT_EQ(state.meta["state"][0]["step"], 1);
  EXPECT_EQ(state.meta["state"][1]["step"], 0);
  EXPECT_EQ(state.meta["state"][2]["step"], 1);
  // Giving it a gradient again: it starts its own bias correction at step 1, like PyTorch.
  set.params[1].set_grad(as_strided(set.grad_arena, Shape{4}, Shape{1}, 4));
  fill_grads(set.params, 3, 1);
  adam->step();
  EXPECT_EQ(adam->state_dict().meta["state"][1]["step"], 1);
  EXPECT_EQ(adam->state_dict().meta["state"][0]["step"], 2);
}

TEST(OptimizerBase, ScaledStepEqualsScalingTheGradientsAndLastsOneStep) {
  for (const auto& config : all_configs()) {
    auto a = make_params({33, 70001}, true, 4);
    auto b = make_params({33, 70001}, true, 4);
    auto scaled = make_optimizer(config.name, a.params, config.options);
    auto plain = make_optimizer(config.name, b.params, config.options);
    for (int step = 0; step < 3; ++step) {
      fill_grads(a.params, 4, step);
      fill_grads(b.params, 4, step);
      // Scale by a power of two so that both ways round identically.
      for (const auto& p : a.params) {
        float* g = p.grad().data<float>();
        for (std::int64_t i = 0; i < p.numel(); ++i) g[i] *= 4.0f;
      }
      scaled->scaled_step(0.25);
      plain->step();
    }
    fill_grads(a.params, 4, 3);  // a plain step() after scaled ones multiplies by nothing
    fill_grads(b.params, 4, 3);
    scaled->step();
    plain->step();
    EXPECT_EQ(compare_optimizers(a.params, *scaled, b.params, *plain, 0), "") << config.label;
  }
}

TEST(OptimizerBase, HyperparametersByNameAndGroupsWithDefaults) {
  auto first = make_params({3}, false, 5);
  auto second = make_params({4}, false, 6);
  auto adam = make_optimizer("adamw", first.params, {{"lr", 0.01}, {"betas", {0.8, 0.99}}});
  adam->add_param_group(second.params, {{"weight_decay", 0.0}});
  ASSERT_EQ(adam->param_groups().size(), 2u);
  EXPECT_DOUBLE_EQ(adam->hyperparameter(1, "lr"), 0.01);  // the optimizer's defaults, not PyTorch's
  EXPECT_DOUBLE_EQ(adam->hyperparameter(1, "beta1"), 0.8);
  EXPECT_DOUBLE_EQ(adam->hyperparameter(1, "weight_decay"), 0.0);
  EXPECT_DOUBLE_EQ(adam->hyperparameter(0, "weight_decay"), 0.01);
  EXPECT_DOUBLE_EQ(adam->hyperparameter(0, "amsgrad"), 0.0);
  adam->set_hyperparameter(0, "lr", 0.5);
  adam->set_hyperparameter(1, "beta2", 0.9);
  EXPECT_DOUBLE_EQ(adam->param_groups()[0].number("lr"), 0.5);
  EXPECT_DOUBLE_EQ(adam->param_groups()[1].pair("betas", 1), 0.9);
  EXPECT_DOUBLE_EQ(adam->hyperparameter(1, "lr"), 0.01);
}

TEST(OptimizerBase, LearningRateSetBetweenStepsIsUsed) {
  auto a = make_params({8}, false, 7);
  auto sgd = make_optimizer("sgd", a.params, {{"lr", 1.0}});
  a.params[0].grad().fill_(1.0);
  const auto before = a.params[0].to_vector<float>();
  sgd->set_hyperparameter(0, "lr", 0.5);
  sgd->step();
  const auto after = a.params[0].to_vector<float>();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_FLOAT_EQ(after[i], before[i] - 0.5f);
}

// torch.optim.SGD creates the momentum buffer (a copy of the gradient) at the first step that has
// momentum != 0, not at step 1; the start survives a state_dict round trip.
TEST(OptimizerBase, SgdMomentumBufferStartsWhenMomentumTurnsOn) {
  auto a = make_params({1}, false, 7);
  a.params[0].fill_(1.0);
  auto sgd = make_optimizer("sgd", a.params, {{"lr", 0.1}, {"dampening", 0.5}});
  const double want[] = {0.9, 0.8, 0.66, 0.484};  // buffer 1 at step 2, then 0.9 * b + 0.5 * 1
  for (int step = 0; step < 4; ++step) {
    if (step == 1) sgd->set_hyperparameter(0, "momentum", 0.9);
    if (step == 2) {  // resume into a fresh optimizer half way
      auto resumed = make_optimizer("sgd", a.params, {{"lr", 0.1}, {"dampening", 0.5}, {"momentum", 0.9}});
      resumed->load_state_dict(sgd->state_dict());
      sgd = std::move(resumed);
    }
    a.params[0].grad().fill_(1.0);
    sgd->step();
    EXPECT_NEAR(a.params[0].to_vector<double>()[0], want[step], 1e-6) << "step " << step + 1;
  }
}

TEST(OptimizerBase, StateBytesIsWhatTheAlgorithmNeeds) {
  const std::int64_t n = 1000;
  auto bytes = [&](const std::string& name, nlohmann::json options) {
    auto set = make_params({n / 2, n / 2}, true, 8);
    auto optimizer = make_optimizer(name, set.params, options);
    EXPECT_EQ(optimizer->state_bytes(), 0u) << "state is allocated on the first step";
    fill_grads(set.params, 8, 0);
    optimizer->step();
    return optimizer->state_bytes() / n;
  };
  EXPECT_EQ(bytes("adamw", {}), 8u);
  EXPECT_EQ(bytes("adamw", {{"amsgrad", true}}), 12u);
  EXPECT_EQ(bytes("sgd", {{"momentum", 0.9}}), 4u);
  EXPECT_EQ(bytes("sgd", {}), 0u);
  EXPECT_EQ(bytes("adamw", {{"state_dtype", "bfloat16"}}), 4u);
  EXPECT_EQ(bytes("sgd", {{"momentum", 0.9}, {"state_dtype", "bfloat16"}}), 2u);
  EXPECT_EQ(bytes("rmsprop", {{"centered", true}, {"momentum", 0.9}}), 12u);
  EXPECT_EQ(bytes("asgd", {}), 4u);
}

TEST(OptimizerBase, BFloat16StateStaysCloseToFloat32State) {
  for (const auto& config : all_configs()) {
    // Not a small perturbation for these two, by design: Lion's update is a sign, so a rounded moment near
    // zero flips a whole 2 * lr step; schedule-free AdamW keeps z, a copy of the weights rather than a
    // moment, in the state dtype (as optax's state_dtype does). Both are still checked bitwise against
    // the reference loop with bfloat16 state (test_fast_path.cpp) and through save/load.
    if (config.name == "lion" || config.name == "schedule_free_adamw") continue;
    auto a = make_params({64, 257}, true, 9);
    auto b = make_params({64, 257}, true, 9);
    auto full = make_optimizer(config.name, a.params, config.options);
    auto options = config.options;
    options["state_dtype"] = "bfloat16";
    auto half = make_optimizer(config.name, b.params, options);
    for (int step = 0; step < 20; ++step) {
      fill_grads(a.params, 9, step);
      fill_grads(b.params, 9, step);
      full->step();
      half->step();
    }
    // Parameters started in [-1, 1] and moved by at most ~20 * lr-sized steps; bfloat16 moments (8-bit
    // mantissa) perturb each step by about 0.4%, so the difference is a small fraction of the distance moved.
    double max_difference = 0, max_moved = 0;
    auto initial = make_params({64, 257}, true, 9);
    for (std::size_t t = 0; t < a.params.size(); ++t) {
      const auto x = a.params[t].to_vector<double>(), y = b.params[t].to_vector<double>(),
                 x0 = initial.params[t].to_vector<double>();
      for (std::size_t i = 0; i < x.size(); ++i) {
        max_difference = std::max(max_difference, std::abs(x[i] - y[i]));
        max_moved = std::max(max_moved, std::abs(x[i] - x0[i]));
      }
    }
    EXPECT_GT(max_moved, 0.0) << config.label;
    EXPECT_LE(max_difference, 0.05 * max_moved) << config.label << ": moved " << max_moved;
  }
}

TEST(OptimizerBase, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f).bits, 0x3F80);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f).bits, 0x3F80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties go to even (1 + 2^-6).
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f).bits, 0x3F82);
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f).bits, 0x3F81);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  EXPECT_EQ(bf16_to_float(float_to_bf16(-2.5f)), -2.5f);
}

TEST(OptimizerBase, ClosureRunsWithGradModeOnThenSteps) {
  auto a = make_params({2}, false, 10);
  auto sgd = make_optimizer("sgd", a.params, {{"lr", 1.0}});
  const auto before = a.params[0].to_vector<float>();
  NoGradGuard no_grad;
  bool grad_mode_seen = false;
  const double loss = sgd->step([&] {
    grad_mode_seen = GradMode::enabled();
    a.params[0].grad().fill_(2.0);
    return 3.5;
  });
  EXPECT_TRUE(grad_mode_seen);
  EXPECT_FALSE(GradMode::enabled());
  EXPECT_EQ(loss, 3.5);
  EXPECT_FLOAT_EQ(a.params[0].to_vector<float>()[0], before[0] - 2.0f);
  EXPECT_EQ(sgd->steps_taken(), 1);
}

TEST(OptimizerBase, ArenaAndSeparateTensorsGiveTheSameResult) {
  auto arena = make_params(odd_sizes(), true, 12);
  auto separate = make_params(odd_sizes(), false, 12);
  auto a = make_optimizer("adamw", arena.params, {{"lr", 0.01}});
  auto b = make_optimizer("adamw", separate.params, {{"lr", 0.01}});
  for (int step = 0; step < 3; ++step) {
    fill_grads(arena.params, 12, step);
    fill_grads(separate.params, 12, step);
    a->step();
    b->step();
  }
  EXPECT_EQ(compare_optimizers(arena.params, *a, separate.params, *b, 0), "");
}

TEST(OptimizerBase, SplitWeightDecayByRankAndName) {
  std::vector<std::pair<std::string, Tensor>> named = {{"layer.weight", zeros(Shape{3, 3})},
                                                       {"layer.bias", zeros(Shape{3})},
                                                       {"norm.weight", zeros(Shape{3})},
                                                       {"embedding.weight", zeros(Shape{5, 3})},
                                                       {"scale", zeros(Shape{})}};
  const auto split = split_weight_decay(named, {"embedding"});
  ASSERT_EQ(split.decay.size(), 1u);
  EXPECT_EQ(split.decay[0].impl(), named[0].second.impl());
  EXPECT_EQ(split.no_decay.size(), 4u);
}

}  // namespace
}  // namespace descent::optim::testing
