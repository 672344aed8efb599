#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "descent/transform/grad_scaler.hpp"
#include "grad_fixtures.hpp"

using namespace descent;
using namespace descent::transform;
using namespace descent::transform::testing;

TEST(GradScaler, DefaultsArePyTorchs) {
  GradScaler scaler;
  EXPECT_EQ(scaler.scale(), 65536.0);
  EXPECT_EQ(scaler.inv_scale(), 1.0 / 65536.0);
  EXPECT_EQ(scaler.options().growth_factor, 2.0);
  EXPECT_EQ(scaler.options().backoff_factor, 0.5);
  EXPECT_EQ(scaler.options().growth_interval, 2000);
}

TEST(GradScaler, GrowthAndBackoffFollowTheHandComputedSequence) {
  GradScaler scaler({.init_scale = 8.0, .growth_factor = 2.0, .backoff_factor = 0.5, .growth_interval = 3});
  const bool found_inf[] = {false, false, false, false, true, false, false, false, true, true};
  const double scales[] = {8, 8, 16, 16, 8, 8, 8, 16, 8, 4};
  const std::int64_t trackers[] = {1, 2, 0, 1, 0, 1, 2, 0, 0, 0};
  for (int step = 0; step < 10; ++step) {
    scaler.record_inf_check(found_inf[step]);
    scaler.update();
    EXPECT_EQ(scaler.scale(), scales[step]) << "after step " << step;
    EXPECT_EQ(scaler.growth_tracker(), trackers[step]) << "after step " << step;
  }
}

TEST(GradScaler, GrowthThatWouldOverflowKeepsTheScale) {
  GradScaler scaler({.init_scale = std::ldexp(1.0, 127), .growth_factor = 2.0, .backoff_factor = 0.5,
                     .growth_interval = 1});
  scaler.record_inf_check(false);
  scaler.update();
  EXPECT_EQ(scaler.scale(), std::ldexp(1.0, 127));
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

TEST(GradScaler, UnscaleDividesInPlaceAndReportsOverflow) {
  GradScaler scaler({.init_scale = 1024.0});
  std::vector<Tensor> params = {param_with_grad(tensor({1536.0f, -512.0f})), zeros(Shape{2})};
  EXPECT_FALSE(scaler.unscale_(params));
  EXPECT_EQ(grad_values(params), (std::vector<double>{1.5, -0.5}));
  EXPECT_THROW(scaler.unscale_(params), Error) << "twice in one step";
  scaler.update();
  EXPECT_EQ(scaler.growth_tracker(), 1);

  params[0].grad().data<float>()[1] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(scaler.unscale_(params));
  EXPECT_TRUE(scaler.found_inf());
  scaler.update();
  EXPECT_EQ(scaler.scale(), 512.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

// PyTorch's multi-optimizer recipe: one scaler, one unscale_ per optimizer per step.
TEST(GradScaler, EachParameterListUnscalesOncePerStep) {
  GradScaler scaler({.init_scale = 4.0});
  std::vector<Tensor> first = {param_with_grad(tensor({8.0f}))};
  std::vector<Tensor> second = {param_with_grad(tensor({std::numeric_limits<float>::infinity()}))};
  EXPECT_FALSE(scaler.unscale_(first));
  EXPECT_TRUE(scaler.unscale_(second));
  EXPECT_EQ(grad_values(first), (std::vector<double>{2.0}));
  EXPECT_THROW(scaler.unscale_(first), Error) << "the same list twice in one step";
  EXPECT_TRUE(scaler.found_inf()) << "an overflow in either list skips the step";
  scaler.update();
  EXPECT_EQ(scaler.scale(), 2.0);
  EXPECT_FALSE(scaler.unscale_(first)) << "update() starts a new step";
}

// The factor is a double and the scale a float32: PyTorch rounds their product once.
TEST(GradScaler, NonDyadicBackoffRoundsTheProductOnce) {
  GradScaler scaler({.init_scale = 65536.0, .backoff_factor = 0.9});
  for (double want : {58982.3984375, 53084.16015625, 47775.7421875}) {
    scaler.record_inf_check(true);
    scaler.update();
    EXPECT_EQ(scaler.scale(), want);
  }
}

TEST(GradScaler, UpdateWithoutACheckIsAnError) {
  GradScaler scaler;
  EXPECT_THROW(scaler.update(), Error);
  scaler.update(4.0);
  EXPECT_EQ(scaler.scale(), 4.0);
  EXPECT_THROW(scaler.update(0.0), Error);
}

TEST(GradScaler, StateRoundTripResumesTheSameSequence) {
  GradScalerOptions options{.init_scale = 256.0, .growth_factor = 4.0, .backoff_factor = 0.25, .growth_interval = 3};
  GradScaler original(options);
  for (bool inf : {false, false, false, true, false}) {
    original.record_inf_check(inf);
    original.update();
  }
  const nlohmann::json saved = original.state_dict();
  EXPECT_EQ(saved.at("scale").get<double>(), 256.0);  // *4 then /4
  EXPECT_EQ(saved.at("_growth_tracker").get<std::int64_t>(), 1);
  GradScaler restored;  // other options: the state carries them, as PyTorch's does
  restored.load_state_dict(nlohmann::json::parse(saved.dump()));
  for (bool inf : {false, false, true, false}) {
    original.record_inf_check(inf);
    original.update();
    restored.record_inf_check(inf);
    restored.update();
    EXPECT_EQ(restored.scale(), original.scale());
    EXPECT_EQ(restored.growth_tracker(), original.growth_tracker());
  }
  EXPECT_THROW(restored.load_state_dict(nlohmann::json::object()), Error);
  nlohmann::json bad = saved;
  bad["growth_factor"] = 0.5;
  EXPECT_THROW(restored.load_state_dict(bad), Error);
  bad = saved;
  bad["scale"] = "big";
  EXPECT_THROW(restored.load_state_dict(bad), Error);
}

TEST(GradScaler, DisabledScalerIsTheIdentity) {
  GradScaler scaler({.enabled = false});
  EXPECT_EQ(scaler.scale(), 1.0);
  std::vector<Tensor> params = {param_with_grad(tensor({std::numeric_limits<float>::quiet_NaN(), 2.0f}))};
  EXPECT_FALSE(scaler.unscale_(params));
  EXPECT_EQ(grad_values(params)[1], 2.0);
  scaler.update();
  EXPECT_TRUE(scaler.state_dict().empty());
}

TEST(GradScaler, RejectsInvalidOptionsNamingThem) {
  const auto message = [](GradScalerOptions options) {
    try {
      GradScaler scaler(options);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({.growth_factor = 1.0}).find("growth_factor = 1"), std::string::npos);
  EXPECT_NE(message({.growth_factor = 0.5}).find("growth_factor"), std::string::npos);
  EXPECT_NE(message({.backoff_factor = 1.0}).find("backoff_factor = 1"), std::string::npos);
  EXPECT_NE(message({.backoff_factor = 0.0}).find("backoff_factor"), std::string::npos);
  EXPECT_NE(message({.growth_interval = 0}).find("growth_interval = 0"), std::string::npos);
  EXPECT_NE(message({.init_scale = -1.0}).find("init_scale = -1"), std::string::npos);
  EXPECT_NE(message({.init_scale = 1e39}).find("init_scale"), std::string::npos);
}
