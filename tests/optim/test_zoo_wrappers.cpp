// Lookahead, EMA and SWA wrappers: hand-computed values, state round trips, errors; and nn::update_bn.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "descent/nn/norm.hpp"
#include "descent/nn/swa_utils.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/optim/wrappers/ema.hpp"
#include "descent/optim/wrappers/lookahead.hpp"
#include "descent/optim/wrappers/swa.hpp"

namespace descent::optim {
namespace {

using ::testing::HasSubstr;

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

Tensor parameter(std::vector<double> values) {
  Tensor p = from_vector(values, Shape{std::int64_t(values.size())});
  p.set_grad(zeros(p.shape(), DType::Float64));
  return p;
}

TEST(Lookahead, SlowWeightsPullTheFastOnesBackEveryKSteps) {
  Tensor p = parameter({1.0});
  Lookahead lookahead(make_optimizer("sgd", {p}, {{"lr", 0.1}}), /*k=*/2, /*alpha=*/0.5);
  p.grad().fill_(1.0);
  const std::vector<double> want = {0.9, 0.9, 0.8, 0.8};  // fast 0.9, 0.8 -> sync to 0.9; 0.8, 0.7 -> 0.8
  for (double expected : want) {
    lookahead.step();
    EXPECT_NEAR(p.item<double>(), expected, 1e-12);
  }
  EXPECT_NEAR(lookahead.slow_weights()[0].item<double>(), 0.8, 1e-12);
  EXPECT_EQ(lookahead.steps_since_sync(), 0);
}

TEST(Lookahead, StateRoundTripResumesMidCycle) {
  Tensor a = parameter({0.5, -1.0, 2.0}), b = parameter({0.5, -1.0, 2.0});
  Lookahead first(make_optimizer("adam", {a}, {{"lr", 0.1}}), 3, 0.6);
  Lookahead second(make_optimizer("adam", {b}, {{"lr", 0.1}}), 3, 0.6);
  auto set_grads = [](const Tensor& p, int step) {
    double* g = p.grad().data<double>();
    for (int i = 0; i < 3; ++i) g[i] = std::sin(1.0 + step * 0.7 + i);
  };
  for (int step = 0; step < 4; ++step) set_grads(a, step), first.step();
  b.copy_(a);
  second.load_state_dict(first.state_dict());
  EXPECT_EQ(second.steps_since_sync(), 1);
  for (int step = 4; step < 9; ++step) {
    set_grads(a, step), first.step();
    set_grads(b, step), second.step();
  }
  EXPECT_EQ(a.to_vector<double>(), b.to_vector<double>());
}

TEST(Lookahead, InvalidOptionsNameTheValue) {
  EXPECT_THAT(error_of([] { Lookahead(make_optimizer("sgd", {parameter({1.0})}, {}), 0, 0.5); }),
              HasSubstr("lookahead: k = 0: expected a whole number >= 1"));
  EXPECT_THAT(error_of([] { Lookahead(make_optimizer("sgd", {parameter({1.0})}, {}), 5, 1.5); }),
              HasSubstr("alpha = 1.5: expected 0 <= alpha <= 1"));
}

TEST(ExponentialMovingAverage, DecayWithAndWithoutWarmup) {
  Tensor p = parameter({0.0});
  ExponentialMovingAverage plain({p}, 0.5);
  ExponentialMovingAverage warm({p}, 0.999, /*warmup=*/true);
  p.fill_(1.0);
  EXPECT_DOUBLE_EQ(warm.current_decay(), 0.1);  // min(0.999, (1 + 0) / (10 + 0))
  plain.update(), warm.update();
  EXPECT_DOUBLE_EQ(plain.averages()[0].item<double>(), 0.5);
  EXPECT_NEAR(warm.averages()[0].item<double>(), 0.9, 1e-15);
  const double d = 2.0 / 11.0;
  EXPECT_DOUBLE_EQ(warm.current_decay(), d);
  plain.update(), warm.update();
  EXPECT_DOUBLE_EQ(plain.averages()[0].item<double>(), 0.75);
  EXPECT_NEAR(warm.averages()[0].item<double>(), d * 0.9 + (1 - d) * 1.0, 1e-15);
  EXPECT_EQ(warm.num_updates(), 2);
}

TEST(ExponentialMovingAverage, SwapCopyAndStateRoundTrip) {
  Tensor p = parameter({1.0, 2.0});
  ExponentialMovingAverage ema({p}, 0.5);
  p.fill_(3.0);
  ema.update();  // averages 2, 2.5
  ema.swap_in();
  EXPECT_EQ(p.to_vector<double>(), (std::vector<double>{2.0, 2.5}));
  ema.swap_out();
  EXPECT_EQ(p.to_vector<double>(), (std::vector<double>{3.0, 3.0}));
  Tensor target = zeros(Shape{2}, DType::Float64);
  ema.copy_to({target});
  EXPECT_EQ(target.to_vector<double>(), (std::vector<double>{2.0, 2.5}));
  ExponentialMovingAverage restored({p}, 0.5);
  restored.load_state_dict(ema.state_dict());
  EXPECT_EQ(restored.num_updates(), 1);
  EXPECT_EQ(restored.averages()[0].to_vector<double>(), (std::vector<double>{2.0, 2.5}));
  EXPECT_THAT(error_of([&] { ema.copy_to({zeros(Shape{3}, DType::Float64)}); }), HasSubstr("shape [2]"));
  EXPECT_THAT(error_of([&] { ExponentialMovingAverage({p}, 1.5); }), HasSubstr("decay = 1.5: expected"));
}

TEST(AveragedParameters, RunningMeanCustomFunctionAndEma) {
  Tensor p = parameter({1.0});
  AveragedParameters mean({p});
  AveragedParameters largest({p}, [](double averaged, double current, std::int64_t) { return std::max(averaged, current); });
  AveragedParameters ema({p}, ema_avg_fn(0.5));
  for (double value : {1.0, 2.0, 3.0, 6.0}) {
    p.fill_(value);
    mean.update_parameters(), largest.update_parameters(), ema.update_parameters();
  }
  EXPECT_EQ(mean.n_averaged(), 4);
  EXPECT_DOUBLE_EQ(mean.averages()[0].item<double>(), 3.0);
  EXPECT_DOUBLE_EQ(largest.averages()[0].item<double>(), 6.0);
  EXPECT_DOUBLE_EQ(ema.averages()[0].item<double>(), ((1.0 * 0.5 + 1.0) * 0.5 + 1.5) * 0.5 + 3.0);
  AveragedParameters restored({p});
  restored.load_state_dict(mean.state_dict());
  EXPECT_EQ(restored.n_averaged(), 4);
  p.fill_(8.0);
  restored.update_parameters();
  EXPECT_DOUBLE_EQ(restored.averages()[0].item<double>(), 4.0);  // (1 + 2 + 3 + 6 + 8) / 5
}

TEST(UpdateBn, RecomputesRunningStatisticsAsACumulativeAverage) {
  nn::BatchNorm1d bn(2);
  bn.running_mean().fill_(5.0);
  bn.eval();
  const std::vector<Tensor> batches = {from_vector(std::vector<float>{1, 2, 3, 4}, Shape{2, 2}),
                                       from_vector(std::vector<float>{5, 6, 9, 10}, Shape{2, 2})};
  std::size_t next = 0;
  nn::update_bn(bn, [&]() -> std::optional<Tensor> {
    if (next == batches.size()) return std::nullopt;
    return batches[next++];
  });
  // Batch means (2, 3) and (7, 8); unbiased variances (2, 2) and (8, 8): equal weights.
  const auto mean = bn.running_mean().to_vector<double>(), var = bn.running_var().to_vector<double>();
  EXPECT_NEAR(mean[0], 4.5, 1e-6);
  EXPECT_NEAR(mean[1], 5.5, 1e-6);
  EXPECT_NEAR(var[0], 5.0, 1e-5);
  EXPECT_NEAR(var[1], 5.0, 1e-5);
  EXPECT_EQ(bn.num_batches_tracked(), 2);
  EXPECT_EQ(bn.momentum(), std::optional<double>(0.1));
  EXPECT_FALSE(bn.is_training());
}

}  // namespace
}  // namespace descent::optim
