// The layer modules: parameters and buffers (names, shapes, default initialisation), train/eval
// behaviour, descriptions, constructor errors, and a small CNN trained end to end.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/autograd/functional.hpp"
#include "descent/autograd/node.hpp"
#include "descent/nn/conv.hpp"
#include "descent/nn/dropout.hpp"
#include "descent/nn/embedding.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/loss.hpp"
#include "descent/nn/norm.hpp"
#include "descent/nn/pool.hpp"

using namespace descent;

namespace {

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

template <class F>
void expect_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// Sample mean and standard deviation.
std::pair<double, double> moments(const Tensor& t) {
  const auto v = t.to_vector<double>();
  double mean = 0.0, squares = 0.0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  for (double x : v) squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / double(v.size() - 1))};
}

}  // namespace

TEST(Conv2dModule, ParametersAndDefaultInitialisation) {
  Generator gen(1);
  nn::Conv2d conv(16, 64, 3, gen, 1, 1);
  EXPECT_EQ(names_of(conv.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(conv.weight().shape(), (Shape{64, 16, 3, 3}));
  EXPECT_EQ(conv.bias().shape(), (Shape{64}));
  EXPECT_TRUE(conv.weight().requires_grad());
  // kaiming_uniform(a = sqrt(5)) and the bias both draw from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  const double bound = 1.0 / std::sqrt(16.0 * 9.0);
  for (const Tensor& t : {conv.weight(), conv.bias()})
    for (double v : t.to_vector<double>()) EXPECT_LE(std::abs(v), bound);
  // 9216 uniform draws: the sample deviation is within 3% of bound / sqrt(3) (about 4 standard errors).
  const auto [mean, std] = moments(conv.weight());
  EXPECT_NEAR(mean, 0.0, 0.05 * bound);
  EXPECT_NEAR(std, bound / std::sqrt(3.0), 0.03 * bound / std::sqrt(3.0));

  nn::Conv2d grouped(4, 6, Size2d{3, 2}, gen, 1, 0, 1, 2, false, DType::Float64);
  EXPECT_EQ(grouped.weight().shape(), (Shape{6, 2, 3, 2}));
  EXPECT_EQ(grouped.weight().dtype(), DType::Float64);
  EXPECT_FALSE(grouped.bias().defined());
  EXPECT_EQ(names_of(grouped.named_parameters()), (std::vector<std::string>{"weight"}));
  for (double v : grouped.weight().to_vector<double>()) EXPECT_LE(std::abs(v), 1.0 / std::sqrt(12.0));
}

TEST(Conv2dModule, ForwardDescribeAndErrors) {
  Generator gen(2);
  nn::Conv2d conv(3, 4, Size2d{3, 2}, gen, 2, 1, Size2d{1, 2});
  EXPECT_EQ(conv.describe(), "Conv2d(in_channels=3, out_channels=4, kernel_size=(3, 2), stride=(2, 2), "
                             "padding=(1, 1), dilation=(1, 2), groups=1, bias=true)");
  Tensor x = rand(Shape{2, 3, 9, 9}, gen);
  Tensor y = conv(x);
  Tensor want = conv2d(x, conv.weight().detach(), conv.bias().detach(), 2, 1, Size2d{1, 2});
  EXPECT_EQ(y.to_vector<float>(), want.to_vector<float>());
  EXPECT_EQ(y.shape(), (Shape{2, 4, 5, 5}));  // (9 + 2 - 3) / 2 + 1 both ways
  expect_error([&] { nn::Conv2d(3, 4, 3, gen, 1, 0, 1, 2); }, "groups=2 must be positive and divide in_channels=3");
  expect_error([&] { nn::Conv2d(3, 4, 0, gen); }, "kernel_size must be positive, got (0, 0)");
  expect_error([&] { conv(rand(Shape{2, 5, 9, 9}, gen)); }, "expects 3 input channels");
}

TEST(PoolModules, ForwardAndDescribe) {
  Generator gen(3);
  Tensor x = rand(Shape{2, 3, 7, 7}, gen);
  nn::MaxPool2d max_pool(3, 2, 1, 1, true);
  EXPECT_EQ(max_pool(x).to_vector<float>(), max_pool2d(x, 3, 2, 1, 1, true).to_vector<float>());
  EXPECT_EQ(max_pool.describe(), "MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1), "
                                 "ceil_mode=true)");
  nn::AvgPool2d avg_pool(2);
  EXPECT_EQ(avg_pool(x).shape(), (Shape{2, 3, 3, 3}));
  EXPECT_EQ(avg_pool.describe(), "AvgPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=false, "
                                 "count_include_pad=true)");
  EXPECT_TRUE(max_pool.named_parameters().empty());
  expect_error([] { nn::MaxPool2d(2, 2, 2); }, "MaxPool2d: padding (2, 2) must be non-negative and at most half");
  expect_error([] { nn::AvgPool2d(2, Size2d{0, 1}); }, "AvgPool2d: stride must be positive, got (0, 1)");
}

TEST(DropoutModule, TrainEvalAndOwnGenerator) {
  nn::Dropout drop(0.5, 42);
  EXPECT_EQ(drop.describe(), "Dropout(p=0.5)");
  Tensor x = ones(Shape{1000});
  Tensor a = drop(x);
  std::int64_t zeros_seen = 0;
  for (float v : a.to_vector<float>()) zeros_seen += v == 0.0f;
  EXPECT_GT(zeros_seen, 400);
  EXPECT_LT(zeros_seen, 600);
  // The same seed gives the same masks; successive calls draw new ones.
  nn::Dropout twin(0.5, 42);
  EXPECT_EQ(twin(x).to_vector<float>(), a.to_vector<float>());
  EXPECT_NE(drop(x).to_vector<float>(), a.to_vector<float>());
  drop.eval();
  EXPECT_EQ(drop(x).to_vector<float>(), x.to_vector<float>());
  expect_error([] { nn::Dropout(1.0); }, "Dropout: probability p=1 must lie in [0, 1)");
}

TEST(BatchNormModule, BuffersAndRunningStatistics) {
  nn::BatchNorm2d bn(3);
  EXPECT_EQ(names_of(bn.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(names_of(bn.named_buffers()),
            (std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"}));
  EXPECT_EQ(bn.weight().to_vector<float>(), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(bn.running_var().to_vector<float>(), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(bn.describe(),
            "BatchNorm2d(num_features=3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
  Generator gen(4);
  Tensor x = rand(Shape{4, 3, 5, 5}, gen, DType::Float32, 1.0, 3.0);
  Tensor y = bn(x);
  EXPECT_EQ(bn.num_batches_tracked(), 1);
  // Training output has per-channel mean 0 and variance 1 (weight 1, bias 0).
  const auto [mean, std] = moments(select(y, 1, 0));
  EXPECT_NEAR(mean, 0.0, 1e-5);
  EXPECT_NEAR(std, 1.0, 0.02);
  const double channel_mean = moments(select(x, 1, 0)).first;
  EXPECT_NEAR(bn.running_mean().to_vector<float>()[0], 0.1 * channel_mean, 1e-5);
  bn.eval();
  Tensor z = bn(x);
  EXPECT_EQ(bn.num_batches_tracked(), 1);
  const float rm = bn.running_mean().to_vector<float>()[0], rv = bn.running_var().to_vector<float>()[0];
  EXPECT_NEAR(z.to_vector<float>()[0], (x.to_vector<float>()[0] - rm) / std::sqrt(rv + 1e-5f), 1e-5);
  expect_error([&] { bn(rand(Shape{4, 3}, gen)); }, "BatchNorm2d: expected 4-D [N, C, H, W] input, got shape [4, 3]");
  expect_error([&] { bn(rand(Shape{4, 2, 3, 3}, gen)); }, "expected 3 channels (num_features)");
}

TEST(BatchNormModule, CumulativeAverageAndUntracked) {
  nn::BatchNorm1d cumulative(2, 1e-5, std::nullopt);
  EXPECT_EQ(cumulative.describe(),
            "BatchNorm1d(num_features=2, eps=1e-05, momentum=None, affine=true, track_running_stats=true)");
  // momentum=None: the running mean is the plain average of the batch means.
  cumulative(from_vector<float>({1, 0, 3, 0}, Shape{2, 2}));
  cumulative(from_vector<float>({5, 0, 7, 0}, Shape{2, 2}));
  EXPECT_NEAR(cumulative.running_mean().to_vector<float>()[0], (2.0 + 6.0) / 2.0, 1e-6);
  EXPECT_EQ(cumulative.num_batches_tracked(), 2);

  nn::BatchNorm1d untracked(2, 1e-5, 0.1, false, false);
  EXPECT_TRUE(untracked.named_parameters().empty());
  EXPECT_TRUE(untracked.named_buffers().empty());
  untracked.eval();  // still normalises with the batch statistics
  Tensor y = untracked(from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{3, 2}));
  EXPECT_NEAR(y.to_vector<float>()[0], -std::sqrt(1.5f), 1e-4);
}

TEST(LayerNormModule, ParametersAndForward) {
  nn::LayerNorm ln({4, 5});
  EXPECT_EQ(names_of(ln.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(ln.weight().shape(), (Shape{4, 5}));
  EXPECT_EQ(ln.describe(), "LayerNorm(normalized_shape=[4, 5], eps=1e-05, elementwise_affine=true, bias=true)");
  Generator gen(5);
  Tensor x = rand(Shape{3, 4, 5}, gen);
  EXPECT_EQ(ln(x).to_vector<float>(), layer_norm(x, {4, 5}).to_vector<float>());
  nn::LayerNorm no_bias({5}, 1e-5, true, false);
  EXPECT_EQ(names_of(no_bias.named_parameters()), (std::vector<std::string>{"weight"}));
  nn::LayerNorm plain({5}, 1e-5, false);
  EXPECT_TRUE(plain.named_parameters().empty());
  expect_error([&] { ln(rand(Shape{3, 5, 4}, gen)); }, "must be non-empty and equal the trailing dimensions");
  expect_error([] { nn::LayerNorm(std::vector<std::int64_t>{}); }, "LayerNorm: normalized_shape must be non-empty");
}

TEST(EmbeddingModule, InitialisationPaddingAndForward) {
  Generator gen(6);
  nn::Embedding emb(100, 40, gen, -1);
  EXPECT_EQ(emb.padding_idx(), 99);
  EXPECT_EQ(emb.describe(), "Embedding(num_embeddings=100, embedding_dim=40, padding_idx=99)");
  const auto [mean, std] = moments(slice(emb.weight(), 0, 0, 99));
  EXPECT_NEAR(mean, 0.0, 0.1);  // N(0, 1): 3960 draws
  EXPECT_NEAR(std, 1.0, 0.05);
  for (double v : select(emb.weight(), 0, 99).to_vector<double>()) EXPECT_EQ(v, 0.0);
  Tensor idx = from_vector<std::int64_t>({3, 99, 3}, Shape{3});
  Tensor y = emb(idx);
  EXPECT_EQ(y.shape(), (Shape{3, 40}));
  autograd::backward(sum(y));
  const Tensor g = emb.weight().grad();
  EXPECT_EQ(select(g, 0, 3).to_vector<float>(), std::vector<float>(40, 2.0f));
  EXPECT_EQ(select(g, 0, 99).to_vector<float>(), std::vector<float>(40, 0.0f));
  expect_error([&] { emb(from_vector<std::int64_t>({100}, Shape{1})); }, "index 100");
  expect_error([&] { nn::Embedding(10, 4, gen, 10); }, "Embedding: padding_idx=10 out of range");
}

TEST(LayerModules, SmallCnnLearnsAndStateRoundTrips) {
  // Two classes of 8x8 images: a bright vertical bar or a bright horizontal bar, plus noise.
  Generator gen(7);
  const std::int64_t n = 32;
  Tensor images = rand(Shape{n, 1, 8, 8}, gen, DType::Float32, 0.0, 0.3);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
  float* px = images.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    labels[std::size_t(i)] = i % 2;
    for (std::int64_t k = 0; k < 8; ++k) px[i * 64 + (i % 2 ? 3 * 8 + k : k * 8 + 3)] += 1.0f;
  }
  Tensor target = from_vector(labels, Shape{n});
  nn::Sequential model;
  model.push_back(std::make_shared<nn::Conv2d>(1, 4, 3, gen, 1, 1));
  model.push_back(std::make_shared<nn::BatchNorm2d>(4));
  model.push_back(nn::ReLU());
  model.push_back(std::make_shared<nn::MaxPool2d>(2));
  model.push_back(std::make_shared<nn::Dropout>(0.1, 1));
  model.push_back(std::make_shared<nn::Flatten>());
  model.push_back(std::make_shared<nn::Linear>(64, 2, gen));
  model.build_arena();
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 30; ++step) {
    model.zero_grad();
    Tensor loss = nn::cross_entropy(model(images), target);
    autograd::backward(loss);
    NoGradGuard guard;
    for (Tensor p : model.parameters()) add_(p, p.grad(), -0.2);
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.5 * first) << "loss went from " << first << " to " << last;
  // Buffers travel with the state dict.
  const auto state = model.state_dict();
  EXPECT_TRUE(state.count("1.running_mean") && state.count("1.num_batches_tracked"));
  EXPECT_EQ(state.at("1.num_batches_tracked").item<std::int64_t>(), 30);
}
