// Flat parameter vectors, filter-normalised directions, state interpolation and the loss probe.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/landscape/parameters.hpp"
#include "descent/landscape/probe.hpp"
#include "descent/nn/conv.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/loss.hpp"
#include "descent/nn/norm.hpp"

using namespace descent;
using namespace descent::landscape;

namespace {

// A conv layer, batch norm and linear layers: parameters of rank 4, 2 and 1.
class SmallNet : public nn::Module {
 public:
  explicit SmallNet(std::uint64_t seed) {
    Generator gen(seed);
    conv_ = register_module("conv", std::make_shared<nn::Conv2d>(2, 3, 3, gen, 1, 1));
    norm_ = register_module("norm", std::make_shared<nn::BatchNorm1d>(48));
    head_ = register_module("head", std::make_shared<nn::Linear>(48, 5, gen));
  }
  Tensor forward(const Tensor& input) override {
    return head_->forward(norm_->forward(flatten(relu(conv_->forward(input)), 1)));
  }
  std::string describe() const override { return "SmallNet"; }

 private:
  std::shared_ptr<nn::Module> conv_, norm_, head_;
};

double slice_norm(const std::vector<double>& v, std::size_t offset, std::size_t n) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += v[offset + i] * v[offset + i];
  return std::sqrt(sum);
}

data::TensorDataset images(std::int64_t n, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < n; ++i) labels.push_back(std::int64_t(gen.below(5)));
  return data::TensorDataset(randn(Shape{n, 2, 4, 4}, gen), from_vector<std::int64_t>(labels, Shape{n}));
}

train::LossFunction cross_entropy() {
  return [](const Tensor& out, const Tensor& target) { return nn::cross_entropy(out, target); };
}

}  // namespace

TEST(Directions, FilterNormalisationMatchesEachFilterNormAndZeroesBiasesAndNorms) {
  SmallNet model(3);
  Generator gen(11);
  const FlatVector direction = filter_normalized_direction(model, gen);
  const FlatVector weights = get_parameters(model);
  ASSERT_EQ(direction.size(), model.parameter_count());
  std::size_t offset = 0, filters_checked = 0, zeros_checked = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    const auto n = std::size_t(p.numel());
    if (p.dim() <= 1) {
      for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(direction[offset + i], 0.0) << name;
      zeros_checked += n;
    } else {
      const auto filter = n / std::size_t(p.size(0));
      for (std::size_t f = 0; f < std::size_t(p.size(0)); ++f) {
        const double expected = slice_norm(weights, offset + f * filter, filter);
        EXPECT_NEAR(slice_norm(direction, offset + f * filter, filter), expected, 1e-9 * expected) << name << " " << f;
        ++filters_checked;
      }
    }
    offset += n;
  }
  EXPECT_EQ(filters_checked, 3u + 5u);           // conv output channels + head rows
  EXPECT_EQ(zeros_checked, 3u + 48u + 48u + 5u);  // conv bias, norm weight and bias, head bias
  // Random, not a copy of the weights, and reproducible from the seed.
  EXPECT_GT(std::abs(dot(direction, weights) / (norm(direction) * norm(weights))), 0.0);
  EXPECT_LT(std::abs(dot(direction, weights) / (norm(direction) * norm(weights))), 0.5);
  Generator again(11);
  EXPECT_EQ(filter_normalized_direction(model, again), direction);
}

TEST(Directions, SetAndGetParametersRoundTripAndRejectAWrongSize) {
  SmallNet model(1);
  FlatVector values = get_parameters(model);
  for (double& v : values) v = std::round(v * 64) / 64;  // exactly representable in float32
  set_parameters(model, values);
  EXPECT_EQ(get_parameters(model), values);
  values.pop_back();
  EXPECT_THROW(set_parameters(model, values), Error);
}

TEST(Directions, InterpolatedStatesHitBothEndsAndInterpolateBuffers) {
  SmallNet a(1), b(2);
  {  // give b's batch norm running statistics that differ from a's
    NoGradGuard no_grad;
    Generator gen(5);
    b.train();
    b.forward(randn(Shape{8, 2, 4, 4}, gen));
  }
  const auto sa = a.state_dict(), sb = b.state_dict();
  const auto at0 = interpolate_state(sa, sb, 0.0), at1 = interpolate_state(sa, sb, 1.0);
  const auto half = interpolate_state(sa, sb, 0.5);
  for (const auto& [name, tensor] : sa) {
    if (name == "norm.num_batches_tracked") continue;  // a counter, taken from the second state
    EXPECT_EQ(at0.at(name).to_vector<double>(), tensor.to_vector<double>()) << name;
    EXPECT_EQ(at1.at(name).to_vector<double>(), sb.at(name).to_vector<double>()) << name;
  }
  const auto mean_a = sa.at("norm.running_mean").to_vector<double>(), mean_b = sb.at("norm.running_mean").to_vector<double>();
  const auto mean_half = half.at("norm.running_mean").to_vector<double>();
  ASSERT_NE(mean_a, mean_b);
  for (std::size_t i = 0; i < mean_half.size(); ++i) EXPECT_NEAR(mean_half[i], 0.5 * (mean_a[i] + mean_b[i]), 1e-6);
  EXPECT_EQ(half.at("norm.num_batches_tracked").item<std::int64_t>(), 1);
}

TEST(Probe, LossAndGradientDoNotDependOnTheBatchSizeAndLeaveTheModelAlone) {
  SmallNet model(4);
  model.train();
  const auto dataset = images(50, 9);
  const LossProbe whole(dataset, 0, 1000, cross_entropy()), pieces(dataset, 0, 7, cross_entropy());
  EXPECT_EQ(whole.samples(), 50);
  const auto running_mean = model.state_dict().at("norm.running_mean").to_vector<double>();
  double loss_whole = 0, loss_pieces = 0;
  const FlatVector g_whole = whole.gradient(model, &loss_whole), g_pieces = pieces.gradient(model, &loss_pieces);
  EXPECT_NEAR(loss_whole, loss_pieces, 1e-5);
  EXPECT_NEAR(whole.loss(model), loss_whole, 1e-6);
  ASSERT_EQ(g_whole.size(), g_pieces.size());
  EXPECT_GT(norm(g_whole), 1e-3);
  for (std::size_t i = 0; i < g_whole.size(); ++i) EXPECT_NEAR(g_whole[i], g_pieces[i], 1e-5) << i;
  // Eval mode: the running statistics are untouched and the mode is restored.
  EXPECT_EQ(model.state_dict().at("norm.running_mean").to_vector<double>(), running_mean);
  EXPECT_TRUE(model.is_training());
  // A subset: evenly spaced samples, fewer than the whole.
  EXPECT_EQ(LossProbe(dataset, 20, 8, cross_entropy()).samples(), 20);
  EXPECT_THROW(LossProbe(dataset, -1, 8, cross_entropy()), Error);
}
