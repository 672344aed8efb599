// Behaviour of the layer operations beyond their gradients: conv2d against a direct-loop reference
// (including inputs large enough to be processed in several sample blocks), dropout statistics,
// running-statistics updates, embedding padding, and the error messages for malformed input.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/autograd/functional.hpp"
#include "descent/autograd/node.hpp"
#include "descent/autograd/ops.hpp"
#include "fixtures/layer_fixture.hpp"

using namespace descent;
using descent::layer_test::tensors_close;

namespace {

struct ConvSpec {
  Size2d stride{1}, padding{0}, dilation{1};
  std::int64_t groups = 1;
};

// Direct 7-loop convolution and its gradients (float64), the ground truth for the im2col path.
struct ConvReference {
  Tensor out, grad_input, grad_weight, grad_bias;
};

ConvReference reference_conv(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy, const ConvSpec& s) {
  const std::int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const std::int64_t O = w.shape()[0], Cg = w.shape()[1], KH = w.shape()[2], KW = w.shape()[3];
  const std::int64_t OH = gy.shape()[2], OW = gy.shape()[3], Og = O / s.groups;
  ConvReference r{zeros(gy.shape(), DType::Float64), zeros(x.shape(), DType::Float64),
                  zeros(w.shape(), DType::Float64), zeros(Shape{O}, DType::Float64)};
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  const auto gv = gy.to_vector<double>();
  double* out = r.out.data<double>();
  double* gx = r.grad_input.data<double>();
  double* gw = r.grad_weight.data<double>();
  double* gb = r.grad_bias.data<double>();
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          const std::int64_t oi = ((n * O + o) * OH + oh) * OW + ow;
          double acc = bv[std::size_t(o)];
          gb[o] += gv[std::size_t(oi)];
          for (std::int64_t cg = 0; cg < Cg; ++cg)
            for (std::int64_t ki = 0; ki < KH; ++ki)
              for (std::int64_t kj = 0; kj < KW; ++kj) {
                const std::int64_t ih = oh * s.stride.h - s.padding.h + ki * s.dilation.h;
                const std::int64_t iw = ow * s.stride.w - s.padding.w + kj * s.dilation.w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const std::int64_t c = (o / Og) * Cg + cg;
                const std::int64_t xi = ((n * C + c) * H + ih) * W + iw, wi = ((o * Cg + cg) * KH + ki) * KW + kj;
                acc += xv[std::size_t(xi)] * wv[std::size_t(wi)];
                gx[xi] += gv[std::size_t(oi)] * wv[std::size_t(wi)];
                gw[wi] += gv[std::size_t(oi)] * xv[std::size_t(xi)];
              }
          out[oi] = acc;
        }
  return r;
}

void compare_with_reference(const Shape& x_shape, const Shape& w_shape, const ConvSpec& s, std::uint64_t seed) {
  Generator gen(seed);
  Tensor x = rand(x_shape, gen, DType::Float64, -1.0, 1.0).set_requires_grad(true);
  Tensor w = rand(w_shape, gen, DType::Float64, -1.0, 1.0).set_requires_grad(true);
  Tensor b = rand(Shape{w_shape[0]}, gen, DType::Float64, -1.0, 1.0).set_requires_grad(true);
  Tensor out = conv2d(x, w, b, s.stride, s.padding, s.dilation, s.groups);
  Tensor gy = rand(out.shape(), gen, DType::Float64, -1.0, 1.0);
  autograd::backward(out, gy);
  const ConvReference ref = reference_conv(x, w, b, gy, s);
  EXPECT_TRUE(tensors_close(out, ref.out, 1e-10, 1e-10)) << "output for input " << x_shape;
  EXPECT_TRUE(tensors_close(x.grad(), ref.grad_input, 1e-10, 1e-10)) << "grad input for input " << x_shape;
  EXPECT_TRUE(tensors_close(w.grad(), ref.grad_weight, 1e-9, 1e-10)) << "grad weight for input " << x_shape;
  EXPECT_TRUE(tensors_close(b.grad(), ref.grad_bias, 1e-9, 1e-10)) << "grad bias for input " << x_shape;
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

}  // namespace

TEST(Conv2dSemantics, MatchesDirectLoops) {
  compare_with_reference({2, 3, 9, 8}, {4, 3, 3, 3}, {}, 1);
  compare_with_reference({2, 4, 9, 8}, {6, 2, 3, 2}, {Size2d{2, 3}, Size2d{1, 2}, Size2d{2, 1}, 2}, 2);
  compare_with_reference({1, 3, 5, 5}, {3, 1, 5, 5}, {1, 2, 1, 3}, 3);
}

TEST(Conv2dSemantics, SeveralSampleBlocks) {
  // 8 * 9 * 9 rows x 56 * 56 columns per sample: the column buffer holds two samples, so three samples
  // run as a two-sample block and a one-sample block.
  compare_with_reference({3, 8, 64, 64}, {4, 8, 9, 9}, {}, 4);
}

TEST(Conv2dSemantics, Float32MatchesFloat64) {
  Generator gen(5);
  Tensor x = rand(Shape{4, 3, 12, 12}, gen, DType::Float64, -1.0, 1.0);
  Tensor w = rand(Shape{5, 3, 3, 3}, gen, DType::Float64, -1.0, 1.0);
  Tensor b = rand(Shape{5}, gen, DType::Float64, -1.0, 1.0);
  Tensor want = conv2d(x, w, b, 2, 1);
  Tensor got = conv2d(x.to(DType::Float32), w.to(DType::Float32), b.to(DType::Float32), 2, 1);
  EXPECT_EQ(got.dtype(), DType::Float32);
  EXPECT_TRUE(tensors_close(got, want, 1e-5, 1e-5));
}

TEST(Conv2dSemantics, Errors) {
  Tensor x = zeros(Shape{2, 3, 8, 8}), w = zeros(Shape{4, 3, 3, 3});
  expect_error([&] { conv2d(zeros(Shape{3, 8, 8}), w); }, "expected input of shape [N, C, H, W], got shape [3, 8, 8]");
  expect_error([&] { conv2d(x, zeros(Shape{4, 2, 3, 3})); }, "expects 2 input channels");
  expect_error([&] { conv2d(x, w, zeros(Shape{5})); }, "bias of shape [5]");
  expect_error([&] { conv2d(x, zeros(Shape{4, 1, 3, 3}), Tensor(), 1, 0, 1, 2); }, "not divisible by groups=2");
  expect_error([&] { conv2d(x, zeros(Shape{4, 3, 9, 9})); }, "larger than the padded input");
  expect_error([&] { conv2d(x, w, Tensor(), 0); }, "stride must be positive");
  expect_error([&] { conv2d(x, zeros(Shape{4, 3, 3, 3}, DType::Float64)); }, "input is float32 but weight is float64");
}

TEST(PoolSemantics, MaxPoolPropagatesNanAndPadsWithMinusInfinity) {
  Tensor x = from_vector<float>({-5, -6, NAN, -1, -2, -3, -4, -7, -8}, Shape{1, 1, 3, 3});
  Tensor out = max_pool2d(x, 2, 1, 0);
  const auto v = out.to_vector<float>();
  // Windows of [[-5, -6, nan], [-1, -2, -3], [-4, -7, -8]]: only the top-right one holds the NaN.
  EXPECT_EQ(v[0], -1.0f);
  EXPECT_TRUE(std::isnan(v[1]));
  EXPECT_EQ(v[2], -1.0f);
  EXPECT_EQ(v[3], -2.0f);
  // All-negative input with padding: the padding never wins.
  Tensor padded = max_pool2d(full(Shape{1, 1, 2, 2}, -3.0), 3, 1, 1);
  for (float value : padded.to_vector<float>()) EXPECT_EQ(value, -3.0f);
}

TEST(PoolSemantics, Errors) {
  Tensor x = zeros(Shape{1, 1, 4, 4});
  expect_error([&] { max_pool2d(x, 2, 2, 2); }, "at most half of kernel_size");
  expect_error([&] { max_pool2d(zeros(Shape{4, 4}), 2); }, "expected input of shape [N, C, H, W] or [C, H, W]");
  expect_error([&] { avg_pool2d(x, 5); }, "the output would be empty");
  expect_error([&] { avg_pool2d(x, 0); }, "kernel_size must be positive");
}

TEST(DropoutSemantics, ScalesSurvivorsAndDropsAboutP) {
  Generator gen(3);
  Tensor x = ones(Shape{200, 100});
  Tensor y = dropout(x, 0.25, true, gen);
  std::int64_t zeros_seen = 0;
  for (float v : y.to_vector<float>()) {
    if (v == 0.0f) ++zeros_seen;
    else EXPECT_FLOAT_EQ(v, 1.0f / 0.75f);
  }
  // 20000 draws: the share of zeros is within 4 standard deviations (0.0031) of 0.25.
  EXPECT_NEAR(double(zeros_seen) / 20000.0, 0.25, 0.0125);
  EXPECT_TRUE(dropout(x, 0.25, false, gen).shares_storage(x));
  EXPECT_TRUE(dropout(x, 0.0, true, gen).shares_storage(x));
  expect_error([&] { dropout(x, 1.0, true, gen); }, "p=1 must lie in [0, 1)");
  expect_error([&] { dropout(x, -0.1, true, gen); }, "must lie in [0, 1)");
}

TEST(BatchNormSemantics, RunningStatisticsAndEval) {
  // Channel 0 holds 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3).
  Tensor x = from_vector<double>({1, 10, 2, 20, 3, 30, 4, 40}, Shape{4, 2});
  Tensor mean = zeros(Shape{2}, DType::Float64), var = ones(Shape{2}, DType::Float64);
  Tensor y = batch_norm(x, mean, var, Tensor(), Tensor(), true, 0.1, 0.0);
  EXPECT_NEAR(mean.to_vector<double>()[0], 0.25, 1e-12);
  EXPECT_NEAR(var.to_vector<double>()[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-12);
  EXPECT_NEAR(y.to_vector<double>()[0], (1 - 2.5) / std::sqrt(1.25), 1e-12);
  // Eval uses the running statistics and leaves them alone.
  Tensor z = batch_norm(x, mean, var, Tensor(), Tensor(), false, 0.1, 0.0);
  EXPECT_NEAR(z.to_vector<double>()[0], (1 - 0.25) / std::sqrt(0.9 + 0.5 / 3.0), 1e-12);
  EXPECT_NEAR(mean.to_vector<double>()[0], 0.25, 1e-12);
}

TEST(BatchNormSemantics, Errors) {
  Tensor x = zeros(Shape{4, 3});
  expect_error([&] { batch_norm(x, zeros(Shape{4}), ones(Shape{3}), Tensor(), Tensor(), true); },
               "running_mean of shape [4] for input of shape [4, 3] (expected [3])");
  expect_error([&] { batch_norm(zeros(Shape{1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
               "expected more than 1 value per channel when training");
  expect_error([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); }, "needs running_mean");
  expect_error([&] { batch_norm(zeros(Shape{4}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
               "expected input of shape [N, C]");
}

TEST(LayerNormSemantics, Errors) {
  Tensor x = zeros(Shape{2, 3, 4});
  expect_error([&] { layer_norm(x, {3}); }, "normalized_shape [3] must be non-empty and equal the trailing");
  expect_error([&] { layer_norm(x, {4}, zeros(Shape{3})); }, "weight of shape [3] (expected normalized_shape [4])");
}

TEST(EmbeddingSemantics, PaddingRowGetsNoGradient) {
  Generator gen(9);
  Tensor weight = rand(Shape{5, 2}, gen, DType::Float64).set_requires_grad(true);
  Tensor indices = from_vector<std::int64_t>({0, 3, 3, 1}, Shape{4});
  Tensor out = embedding(indices, weight, -2);  // row 3
  autograd::backward(out, ones(Shape{4, 2}, DType::Float64));
  EXPECT_EQ(weight.grad().to_vector<double>(), (std::vector<double>{1, 1, 1, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(out.to_vector<double>()[2], weight.to_vector<double>()[6]);  // the lookup itself still reads row 3
}

TEST(EmbeddingSemantics, Errors) {
  Tensor weight = zeros(Shape{5, 2});
  expect_error([&] { embedding(from_vector<std::int64_t>({1, 5}, Shape{2}), weight); },
               "index 5 at flat position 1 of indices shape [2] is out of range for num_embeddings=5");
  expect_error([&] { embedding(from_vector<std::int64_t>({-1}, Shape{1}), weight); }, "index -1");
  expect_error([&] { embedding(zeros(Shape{2}), weight); }, "indices must be int64, got float32");
  expect_error([&] { embedding(from_vector<std::int64_t>({1}, Shape{1}), weight, 5); }, "padding_idx=5 out of range");
}
