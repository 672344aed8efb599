// scaled_dot_product_attention: PyTorch reference values, gradcheck of the fused backward, agreement with
// the same formula composed from elementary ops, dropout, mask helpers and input errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "descent/autograd/attention.hpp"
#include "descent/autograd/gradcheck.hpp"
#include "descent/autograd/node.hpp"
#include "descent/autograd/ops.hpp"
#include "fixtures/sequence_fixture.hpp"

namespace descent {
namespace {

using test::fixture_tensor;
using test::tensors_close;

Tensor leaf(const Shape& shape, Generator& gen, DType dtype = DType::Float64) {
  Tensor t = randn(shape, gen, dtype);
  t.set_requires_grad(true);
  return t;
}

// softmax(q k^T * scale + mask) v from elementary differentiable ops: the independent reference.
Tensor composed_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double scale) {
  Tensor scores = mul(matmul(q, transpose(k, -2, -1)), scale);
  if (mask.defined()) scores = add(scores, mask);
  return matmul(softmax(scores, -1), v);
}

TEST(Attention, MatchesPyTorchReference) {
  const auto fixture = test::load_sequence_fixture("seq_attention.json");
  ASSERT_EQ(fixture.at("cases").size(), 6u);
  for (const auto& c : fixture.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Tensor q = fixture_tensor(c.at("query")), k = fixture_tensor(c.at("key")), v = fixture_tensor(c.at("value"));
    q.set_requires_grad(true);
    k.set_requires_grad(true);
    v.set_requires_grad(true);
    Tensor mask;
    if (c.contains("mask")) {
      mask = fixture_tensor(c.at("mask"));
      mask.set_requires_grad(true);
    } else if (c.contains("blocked")) {
      mask = attention_mask_from_blocked(fixture_tensor(c.at("blocked")));
    }
    std::optional<double> scale;
    if (!c.at("scale").is_null()) scale = c.at("scale").get<double>();
    Tensor out = scaled_dot_product_attention(q, k, v, mask, 0.0, c.at("is_causal").get<bool>(), scale);
    EXPECT_TRUE(tensors_close(out, fixture_tensor(c.at("output"))));
    autograd::backward(sum(mul(out, fixture_tensor(c.at("w")))));
    EXPECT_TRUE(tensors_close(q.grad(), fixture_tensor(c.at("grad_query"))));
    EXPECT_TRUE(tensors_close(k.grad(), fixture_tensor(c.at("grad_key"))));
    EXPECT_TRUE(tensors_close(v.grad(), fixture_tensor(c.at("grad_value"))));
    if (c.contains("grad_mask")) {
      EXPECT_TRUE(tensors_close(mask.grad(), fixture_tensor(c.at("grad_mask"))));
    }
  }
}

TEST(Attention, GradcheckWithoutMask) {
  Generator gen(1);
  const std::vector<Tensor> inputs{leaf({2, 3, 4}, gen), leaf({2, 5, 4}, gen), leaf({2, 5, 3}, gen)};
  auto result = autograd::gradcheck(
      [](const std::vector<Tensor>& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }, inputs);
  EXPECT_TRUE(result.passed) << result.detail;
}

TEST(Attention, GradcheckWithAdditiveMaskIncludingMaskGradient) {
  Generator gen(2);
  // A mask broadcast over the batch and over rows: its gradient is summed back to [1, 5].
  const std::vector<Tensor> inputs{leaf({2, 2, 3, 4}, gen), leaf({2, 2, 5, 4}, gen), leaf({2, 2, 5, 3}, gen),
                                   leaf({1, 5}, gen)};
  auto result = autograd::gradcheck(
      [](const std::vector<Tensor>& x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); }, inputs);
  EXPECT_TRUE(result.passed) << result.detail;
}

TEST(Attention, GradcheckWithBlockedPositionsAndCausal) {
  Generator gen(3);
  const std::vector<Tensor> inputs{leaf({2, 4, 3}, gen), leaf({2, 6, 3}, gen), leaf({2, 6, 2}, gen)};
  Tensor blocked = zeros(Shape{2, 1, 6}, DType::Float64);
  blocked.data<double>()[2] = 1.0;
  blocked.data<double>()[6 + 5] = 1.0;
  const Tensor mask = attention_mask_from_blocked(blocked);
  auto masked = autograd::gradcheck(
      [&](const std::vector<Tensor>& x) { return scaled_dot_product_attention(x[0], x[1], x[2], mask); }, inputs);
  EXPECT_TRUE(masked.passed) << masked.detail;
  auto causal = autograd::gradcheck(
      [](const std::vector<Tensor>& x) { return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), 0.0, true); },
      inputs);
  EXPECT_TRUE(causal.passed) << causal.detail;
}

TEST(Attention, GradcheckBroadcastBatchAndCustomScale) {
  Generator gen(4);
  const std::vector<Tensor> inputs{leaf({3, 2, 4}, gen), leaf({1, 5, 4}, gen), leaf({5, 2}, gen)};
  auto result = autograd::gradcheck(
      [](const std::vector<Tensor>& x) {
        return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), 0.0, false, 0.7);
      },
      inputs);
  EXPECT_TRUE(result.passed) << result.detail;
}

TEST(Attention, GradcheckThroughDropout) {
  Generator gen(5);
  const std::vector<Tensor> inputs{leaf({2, 3, 4}, gen), leaf({2, 5, 4}, gen), leaf({2, 5, 3}, gen)};
  // Reseeding on every call keeps the dropout mask fixed across the finite differences.
  auto result = autograd::gradcheck(
      [](const std::vector<Tensor>& x) {
        Generator dropout_gen(99);
        return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), 0.4, false, std::nullopt, &dropout_gen);
      },
      inputs);
  EXPECT_TRUE(result.passed) << result.detail;
}

TEST(Attention, Float32AgreesWithComposedOps) {
  Generator gen(6);
  Tensor q = leaf({2, 3, 7, 8}, gen, DType::Float32), k = leaf({2, 3, 9, 8}, gen, DType::Float32);
  Tensor v = leaf({2, 3, 9, 5}, gen, DType::Float32), mask = leaf({7, 9}, gen, DType::Float32);
  Tensor fused = scaled_dot_product_attention(q, k, v, mask);
  autograd::backward(sum(fused));
  const Tensor gq = q.grad().clone(), gk = k.grad().clone(), gv = v.grad().clone(), gm = mask.grad().clone();
  for (Tensor* t : {&q, &k, &v, &mask}) t->impl()->grad.reset();
  Tensor composed = composed_attention(q, k, v, mask, 1.0 / std::sqrt(8.0));
  autograd::backward(sum(composed));
  EXPECT_TRUE(tensors_close(fused, composed, 1e-5, 1e-4));
  EXPECT_TRUE(tensors_close(gq, q.grad(), 1e-5, 1e-4));
  EXPECT_TRUE(tensors_close(gk, k.grad(), 1e-5, 1e-4));
  EXPECT_TRUE(tensors_close(gv, v.grad(), 1e-5, 1e-4));
  EXPECT_TRUE(tensors_close(gm, mask.grad(), 1e-5, 1e-4));
}

TEST(Attention, WeightsAreTheSoftmaxAndDropoutScalesThem) {
  Generator gen(7);
  Tensor q = randn({2, 4, 3}, gen, DType::Float64), k = randn({2, 6, 3}, gen, DType::Float64);
  Tensor v = randn({2, 6, 5}, gen, DType::Float64);
  const AttentionResult plain = scaled_dot_product_attention_with_weights(q, k, v);
  EXPECT_TRUE(tensors_close(plain.weights, softmax(mul(matmul(q, transpose(k, 1, 2)), 1.0 / std::sqrt(3.0)), -1)));
  Generator dropout_gen(8);
  const AttentionResult dropped =
      scaled_dot_product_attention_with_weights(q, k, v, Tensor(), 0.5, false, std::nullopt, &dropout_gen);
  EXPECT_TRUE(tensors_close(dropped.output, matmul(dropped.weights, v)));
  int zeros_seen = 0;
  const auto p = plain.weights.to_vector<double>(), d = dropped.weights.to_vector<double>();
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (d[i] == 0.0) {
      ++zeros_seen;
    } else {
      EXPECT_NEAR(d[i], 2.0 * p[i], 1e-12);
    }
  }
  EXPECT_GT(zeros_seen, 0);
  EXPECT_LT(zeros_seen, int(p.size()));
  Generator all_gen(9);
  const Tensor none = scaled_dot_product_attention(q, k, v, Tensor(), 1.0, false, std::nullopt, &all_gen);
  for (double x : none.to_vector<double>()) EXPECT_EQ(x, 0.0);
}

TEST(Attention, MaskHelpers) {
  const Tensor flags = from_vector(std::vector<double>{0, 1, 0, 2}, Shape{2, 2});
  const auto keep = attention_mask_from_keep(flags).to_vector<double>();
  const auto blocked = attention_mask_from_blocked(flags).to_vector<double>();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(keep, (std::vector<double>{-inf, 0, -inf, 0}));
  EXPECT_EQ(blocked, (std::vector<double>{0, -inf, 0, -inf}));
  const auto causal = causal_attention_mask(2, 3, DType::Float64).to_vector<double>();
  EXPECT_EQ(causal, (std::vector<double>{0, -inf, -inf, 0, 0, -inf}));
  // is_causal and the explicit causal mask agree.
  Generator gen(10);
  Tensor q = randn({3, 4}, gen, DType::Float64), k = randn({5, 4}, gen, DType::Float64);
  Tensor v = randn({5, 2}, gen, DType::Float64);
  EXPECT_TRUE(tensors_close(scaled_dot_product_attention(q, k, v, Tensor(), 0.0, true),
                            scaled_dot_product_attention(q, k, v, causal_attention_mask(3, 5, DType::Float64))));
}

TEST(Attention, FullyMaskedRowIsNaNAsInPyTorch) {
  Generator gen(11);
  Tensor q = randn({2, 3}, gen, DType::Float64), k = randn({2, 3}, gen, DType::Float64);
  Tensor v = randn({2, 3}, gen, DType::Float64);
  const Tensor mask = attention_mask_from_keep(from_vector(std::vector<double>{1, 1, 0, 0}, Shape{2, 2}));
  const auto out = scaled_dot_product_attention(q, k, v, mask).to_vector<double>();
  for (int j = 0; j < 3; ++j) EXPECT_TRUE(std::isfinite(out[std::size_t(j)]));
  for (int j = 3; j < 6; ++j) EXPECT_TRUE(std::isnan(out[std::size_t(j)]));
}

void expect_error_mentions(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(Attention, ErrorsNameTheOpAndShapes) {
  Generator gen(12);
  const Tensor q = randn({2, 3, 4}, gen), k = randn({2, 5, 4}, gen), v = randn({2, 5, 6}, gen);
  expect_error_mentions([&] { scaled_dot_product_attention(q, randn({2, 5, 3}, gen), v); },
                        {"scaled_dot_product_attention", "[2, 3, 4]", "[2, 5, 3]"});
  expect_error_mentions([&] { scaled_dot_product_attention(q, k, randn({2, 4, 6}, gen)); },
                        {"scaled_dot_product_attention", "[2, 4, 6]"});
  expect_error_mentions([&] { scaled_dot_product_attention(randn({4}, gen), k, v); },
                        {"scaled_dot_product_attention", "[4]"});
  expect_error_mentions([&] { scaled_dot_product_attention(q, k, v, zeros(Shape{3, 4})); },
                        {"attn_mask", "[3, 4]", "[2, 3, 5]"});
  expect_error_mentions([&] { scaled_dot_product_attention(q, k, v, zeros(Shape{3, 5}), 0.0, true); },
                        {"is_causal"});
  expect_error_mentions([&] { scaled_dot_product_attention(q, k, v, Tensor(), 0.1); }, {"Generator"});
  expect_error_mentions([&] { scaled_dot_product_attention(q, k, v.to(DType::Float64)); }, {"float64"});
  expect_error_mentions([&] { scaled_dot_product_attention(q, randn({3, 5, 4}, gen), v); },
                        {"scaled_dot_product_attention", "[2]", "[3]"});
}

}  // namespace
}  // namespace descent
