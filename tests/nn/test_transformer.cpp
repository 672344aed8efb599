// MultiheadAttention, TransformerEncoderLayer and TransformerEncoder: PyTorch reference values (outputs,
// attention weights, input and parameter gradients, with PyTorch's parameter names), gradcheck of small
// configurations, mask and layout options, dropout and input errors.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/autograd/attention.hpp"
#include "descent/autograd/gradcheck.hpp"
#include "descent/autograd/node.hpp"
#include "descent/nn/transformer.hpp"
#include "fixtures/sequence_fixture.hpp"

namespace descent::nn {
namespace {

using test::fixture_tensor;
using test::fixture_tensors;
using test::tensors_close;

Tensor leaf(const Shape& shape, Generator& gen) {
  Tensor t = randn(shape, gen, DType::Float64);
  t.set_requires_grad(true);
  return t;
}

Tensor requiring_grad(Tensor t) {
  t.set_requires_grad(true);
  return t;
}

void expect_parameter_grads(const Module& module, const nlohmann::json& grads) {
  const auto expected = fixture_tensors(grads);
  const auto params = module.named_parameters();
  ASSERT_EQ(params.size(), expected.size());
  for (const auto& [name, p] : params) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(expected.count(name)) << "PyTorch has no parameter named " << name;
    EXPECT_TRUE(tensors_close(p.grad(), expected.at(name)));
  }
}

TEST(MultiheadAttention, MatchesPyTorchReference) {
  const auto fixture = test::load_sequence_fixture("seq_mha.json");
  ASSERT_EQ(fixture.at("cases").size(), 3u);
  for (const auto& c : fixture.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Generator gen(0);
    MultiheadAttention mha({.embed_dim = c.at("embed_dim"), .num_heads = c.at("num_heads"), .bias = c.at("bias"),
                            .batch_first = c.at("batch_first"), .dtype = DType::Float64},
                           gen);
    mha.load_state_dict(fixture_tensors(c.at("parameters")));
    const Tensor query = requiring_grad(fixture_tensor(c.at("query")));
    const bool self = c.at("self_attention").get<bool>();
    const Tensor key = self ? query : requiring_grad(fixture_tensor(c.at("key")));
    const Tensor value = self ? query : requiring_grad(fixture_tensor(c.at("value")));
    AttentionMasks masks;
    if (c.contains("key_padding_blocked"))
      masks.key_padding_mask = attention_mask_from_blocked(fixture_tensor(c.at("key_padding_blocked")));
    if (c.contains("attn_mask")) masks.attn_mask = fixture_tensor(c.at("attn_mask"));
    if (c.contains("attn_mask_blocked"))
      masks.attn_mask = attention_mask_from_blocked(fixture_tensor(c.at("attn_mask_blocked")));
    const MultiheadAttentionResult r = mha.forward(query, key, value, masks);
    EXPECT_TRUE(tensors_close(r.output, fixture_tensor(c.at("output"))));
    EXPECT_TRUE(tensors_close(r.weights, fixture_tensor(c.at("weights"))));
    autograd::backward(sum(mul(r.output, fixture_tensor(c.at("w")))));
    EXPECT_TRUE(tensors_close(query.grad(), fixture_tensor(c.at("grad_query"))));
    if (!self) {
      EXPECT_TRUE(tensors_close(key.grad(), fixture_tensor(c.at("grad_key"))));
      EXPECT_TRUE(tensors_close(value.grad(), fixture_tensor(c.at("grad_value"))));
    }
    expect_parameter_grads(mha, c.at("grads"));
  }
}

TEST(TransformerEncoder, MatchesPyTorchReference) {
  const auto fixture = test::load_sequence_fixture("seq_encoder.json");
  ASSERT_EQ(fixture.at("cases").size(), 3u);
  for (const auto& c : fixture.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const TransformerEncoderLayerOptions options{.d_model = c.at("d_model"),
                                                 .nhead = c.at("nhead"),
                                                 .dim_feedforward = c.at("dim_feedforward"),
                                                 .dropout = 0.0,
                                                 .activation = c.at("activation"),
                                                 .layer_norm_eps = c.at("layer_norm_eps"),
                                                 .batch_first = c.at("batch_first"),
                                                 .norm_first = c.at("norm_first"),
                                                 .dtype = DType::Float64};
    Generator gen(0);
    std::unique_ptr<Module> module;
    const std::int64_t layers = c.at("layers");
    if (layers == 1) module = std::make_unique<TransformerEncoderLayer>(options, gen);
    else module = std::make_unique<TransformerEncoder>(options, layers, gen, c.at("final_norm").get<bool>());
    module->load_state_dict(fixture_tensors(c.at("parameters")));
    const Tensor x = requiring_grad(fixture_tensor(c.at("input")));
    AttentionMasks masks;
    if (c.contains("key_padding_blocked"))
      masks.key_padding_mask = attention_mask_from_blocked(fixture_tensor(c.at("key_padding_blocked")));
    const Tensor out = layers == 1 ? static_cast<TransformerEncoderLayer&>(*module).forward(x, masks)
                                   : static_cast<TransformerEncoder&>(*module).forward(x, masks);
    EXPECT_TRUE(tensors_close(out, fixture_tensor(c.at("output"))));
    autograd::backward(sum(mul(out, fixture_tensor(c.at("w")))));
    EXPECT_TRUE(tensors_close(x.grad(), fixture_tensor(c.at("grad_input"))));
    expect_parameter_grads(*module, c.at("grads"));
  }
}

TEST(MultiheadAttention, GradcheckCrossAttentionWithMasks) {
  Generator gen(1);
  MultiheadAttention mha({.embed_dim = 4, .num_heads = 2, .dtype = DType::Float64}, gen);
  // Non-zero biases so that their gradients are exercised away from the initial zeros.
  for (const Tensor& p : mha.parameters()) {
    NoGradGuard guard;
    Tensor t = p;
    t.copy_(randn(p.shape(), gen, DType::Float64, 0.0, 0.5));
  }
  const Tensor padding = attention_mask_from_blocked(from_vector(std::vector<double>{0, 0, 0, 0, 0, 1}, Shape{2, 3}));
  std::vector<Tensor> inputs{leaf({2, 2, 4}, gen), leaf({3, 2, 4}, gen), leaf({3, 2, 4}, gen), leaf({2, 3}, gen)};
  for (const Tensor& p : mha.parameters()) inputs.push_back(p);
  auto result = autograd::gradcheck(
      [&](const std::vector<Tensor>& x) {
        return mha.forward(x[0], x[1], x[2], {.key_padding_mask = padding, .attn_mask = x[3]}, false).output;
      },
      inputs);
  EXPECT_TRUE(result.passed) << result.detail;
}

TEST(TransformerEncoderLayer, GradcheckPostAndPreNorm) {
  for (const bool norm_first : {false, true}) {
    SCOPED_TRACE(norm_first ? "pre-norm" : "post-norm");
    Generator gen(2);
    TransformerEncoderLayer layer({.d_model = 4, .nhead = 2, .dim_feedforward = 6, .dropout = 0.0,
                                   .activation = norm_first ? "gelu" : "relu", .batch_first = true,
                                   .norm_first = norm_first, .dtype = DType::Float64},
                                  gen);
    std::vector<Tensor> inputs{leaf({2, 3, 4}, gen)};
    for (const Tensor& p : layer.parameters()) inputs.push_back(p);
    auto result = autograd::gradcheck(
        [&](const std::vector<Tensor>& x) { return layer.forward(x[0], {.is_causal = true}); }, inputs);
    EXPECT_TRUE(result.passed) << result.detail;
  }
}

TEST(TransformerEncoder, GradcheckTwoLayersWithFinalNorm) {
  Generator gen(3);
  TransformerEncoder encoder({.d_model = 4, .nhead = 1, .dim_feedforward = 5, .dropout = 0.0,
                              .dtype = DType::Float64},
                             2, gen, true);
  std::vector<Tensor> inputs{leaf({3, 2, 4}, gen)};
  for (const Tensor& p : encoder.layer(1).parameters()) inputs.push_back(p);
  auto result = autograd::gradcheck([&](const std::vector<Tensor>& x) { return encoder.forward(x[0]); }, inputs);
  EXPECT_TRUE(result.passed) << result.detail;
}

TEST(MultiheadAttention, WeightsLayoutsAndCausalOption) {
  Generator gen(4);
  MultiheadAttention mha({.embed_dim = 6, .num_heads = 3, .batch_first = true, .dtype = DType::Float64}, gen);
  const Tensor x = randn({2, 5, 6}, gen, DType::Float64);
  const auto averaged = mha.forward(x, x, x);
  EXPECT_EQ(averaged.weights.shape(), (Shape{2, 5, 5}));
  for (double row : sum(averaged.weights, {2}).to_vector<double>()) EXPECT_NEAR(row, 1.0, 1e-12);
  const auto per_head = mha.forward(x, x, x, {}, true, false);
  EXPECT_EQ(per_head.weights.shape(), (Shape{2, 3, 5, 5}));
  EXPECT_TRUE(tensors_close(mean(per_head.weights, {1}), averaged.weights));
  EXPECT_FALSE(mha.forward(x, x, x, {}, false).weights.defined());
  EXPECT_TRUE(tensors_close(mha.forward(x), averaged.output));
  // is_causal is the explicit causal mask.
  const auto causal = mha.forward(x, x, x, {.is_causal = true});
  const auto explicit_mask = mha.forward(x, x, x, {.attn_mask = causal_attention_mask(5, 5, DType::Float64)});
  EXPECT_TRUE(tensors_close(causal.output, explicit_mask.output));
  EXPECT_EQ(causal.weights.to_vector<double>()[1], 0.0);  // query 0 may not see key 1
  // An unbatched input is the batched computation with N = 1.
  const Tensor one = select(x, 0, 1);
  EXPECT_TRUE(tensors_close(mha.forward(one), select(averaged.output, 0, 1)));
  // The packed self-attention path and the separate projections agree.
  const Tensor copy = x.clone();
  EXPECT_TRUE(tensors_close(mha.forward(x, copy, copy).output, averaged.output));
}

TEST(MultiheadAttention, PerHeadAttnMask) {
  Generator gen(5);
  MultiheadAttention mha({.embed_dim = 4, .num_heads = 2, .dtype = DType::Float64}, gen);
  const Tensor x = randn({3, 2, 4}, gen, DType::Float64);
  const Tensor shared = randn({3, 3}, gen, DType::Float64);
  const Tensor per_head = expand(unsqueeze(shared, 0), Shape{4, 3, 3});  // N * heads copies
  EXPECT_TRUE(tensors_close(mha.forward(x, x, x, {.attn_mask = per_head}).output,
                            mha.forward(x, x, x, {.attn_mask = shared}).output));
}

TEST(TransformerEncoder, NamesMatchPyTorchAndLayersStartEqual) {
  Generator gen(6);
  TransformerEncoder encoder({.d_model = 8, .nhead = 2, .dim_feedforward = 16}, 2, gen, true);
  std::vector<std::string> names;
  for (const auto& [name, p] : encoder.named_parameters()) names.push_back(name);
  const std::vector<std::string> layer_names{"self_attn.in_proj_weight", "self_attn.in_proj_bias",
                                             "self_attn.out_proj.weight", "self_attn.out_proj.bias",
                                             "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                                             "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"};
  std::vector<std::string> expected;
  for (const char* prefix : {"layers.0.", "layers.1."})
    for (const auto& n : layer_names) expected.push_back(prefix + n);
  expected.push_back("norm.weight");
  expected.push_back("norm.bias");
  EXPECT_EQ(names, expected);
  const auto first = encoder.layer(0).state_dict(), second = encoder.layer(1).state_dict();
  for (const auto& [name, t] : first) EXPECT_TRUE(tensors_close(second.at(name), t, 0.0, 0.0)) << name;
  // Parameters are distinct tensors even though their values start equal.
  EXPECT_FALSE(first.at("linear1.weight").shares_storage(second.at("linear1.weight")));
}

TEST(TransformerEncoderLayer, DropoutOnlyInTraining) {
  Generator gen(7);
  TransformerEncoderLayer layer({.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.3}, gen);
  const Tensor x = randn({4, 2, 8}, gen);
  const Tensor trained = layer.forward(x);
  layer.eval();
  const Tensor evaluated = layer.forward(x);
  EXPECT_FALSE(tensors_close(trained, evaluated, 1e-4, 0.0));
  EXPECT_TRUE(tensors_close(layer.forward(x), evaluated, 0.0, 0.0));
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

TEST(MultiheadAttention, ErrorsNameTheProblem) {
  Generator gen(8);
  expect_error_mentions([&] { MultiheadAttention({.embed_dim = 10, .num_heads = 3}, gen); },
                        {"MultiheadAttention", "embed_dim (10)", "num_heads (3)"});
  MultiheadAttention mha({.embed_dim = 4, .num_heads = 2}, gen);
  const Tensor x = randn({3, 2, 4}, gen);
  expect_error_mentions([&] { mha.forward(randn({3, 2, 5}, gen)); }, {"MultiheadAttention", "[3, 2, 5]", "4"});
  expect_error_mentions([&] { mha.forward(randn({1, 3, 2, 4}, gen)); }, {"MultiheadAttention", "[1, 3, 2, 4]"});
  expect_error_mentions([&] { mha.forward(x, x, randn({2, 2, 4}, gen)); }, {"key", "value", "[2, 2, 4]"});
  expect_error_mentions([&] { mha.forward(x, x, x, {.attn_mask = zeros(Shape{3, 4})}); },
                        {"attn_mask", "[3, 3]", "[4, 3, 3]", "[3, 4]"});
  expect_error_mentions([&] { mha.forward(x, x, x, {.key_padding_mask = zeros(Shape{3, 2})}); },
                        {"key_padding_mask", "[2, 3]", "[3, 2]"});
  expect_error_mentions([&] { mha.forward(x, x, x, {.attn_mask = zeros(Shape{3, 3}, DType::Float64)}); },
                        {"attn_mask", "float64"});
  expect_error_mentions([&] { TransformerEncoderLayer({.d_model = 4, .nhead = 2, .activation = "tanh"}, gen); },
                        {"TransformerEncoderLayer", "tanh"});
  TransformerEncoderLayer layer({.d_model = 4, .nhead = 2, .dim_feedforward = 8}, gen);
  expect_error_mentions([&] { layer.forward(randn({3, 2, 6}, gen)); }, {"TransformerEncoderLayer", "[3, 2, 6]"});
}

}  // namespace
}  // namespace descent::nn
