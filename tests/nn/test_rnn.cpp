// LSTM: PyTorch reference values (forward, input/state/parameter gradients), gradcheck of the fused cell
// and of whole small LSTMs, layout options, dropout between layers, initialisation and input errors.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/autograd/gradcheck.hpp"
#include "descent/autograd/node.hpp"
#include "descent/nn/rnn.hpp"
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

TEST(LSTM, MatchesPyTorchReference) {
  const auto fixture = test::load_sequence_fixture("seq_lstm.json");
  ASSERT_EQ(fixture.at("cases").size(), 3u);
  for (const auto& c : fixture.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Generator gen(0);
    LSTM lstm({.input_size = c.at("input_size"), .hidden_size = c.at("hidden_size"),
               .num_layers = c.at("num_layers"), .bias = c.at("bias"), .batch_first = c.at("batch_first"),
               .dtype = DType::Float64},
              gen);
    lstm.load_state_dict(fixture_tensors(c.at("parameters")));
    Tensor x = fixture_tensor(c.at("input"));
    x.set_requires_grad(true);
    std::optional<LSTMState> initial;
    Tensor h0, c0;
    if (c.contains("h0")) {
      h0 = fixture_tensor(c.at("h0"));
      c0 = fixture_tensor(c.at("c0"));
      h0.set_requires_grad(true);
      c0.set_requires_grad(true);
      initial = LSTMState{h0, c0};
    }
    const LSTMResult r = lstm.forward_with_state(x, initial);
    EXPECT_TRUE(tensors_close(r.output, fixture_tensor(c.at("output"))));
    EXPECT_TRUE(tensors_close(r.state.h, fixture_tensor(c.at("h_n"))));
    EXPECT_TRUE(tensors_close(r.state.c, fixture_tensor(c.at("c_n"))));
    Tensor loss = add(add(sum(mul(r.output, fixture_tensor(c.at("w_output")))),
                          sum(mul(r.state.h, fixture_tensor(c.at("w_h"))))),
                      sum(mul(r.state.c, fixture_tensor(c.at("w_c")))));
    autograd::backward(loss);
    EXPECT_TRUE(tensors_close(x.grad(), fixture_tensor(c.at("grad_input"))));
    if (h0.defined()) {
      EXPECT_TRUE(tensors_close(h0.grad(), fixture_tensor(c.at("grad_h0"))));
      EXPECT_TRUE(tensors_close(c0.grad(), fixture_tensor(c.at("grad_c0"))));
    }
    const auto expected_grads = fixture_tensors(c.at("grads"));
    const auto params = lstm.named_parameters();
    ASSERT_EQ(params.size(), expected_grads.size());
    for (const auto& [name, p] : params) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(expected_grads.count(name));
      EXPECT_TRUE(tensors_close(p.grad(), expected_grads.at(name)));
    }
  }
}

TEST(LSTM, CellGradcheck) {
  Generator gen(1);
  const std::vector<Tensor> inputs{leaf({3, 8}, gen), leaf({3, 2}, gen)};
  auto result = autograd::gradcheck(
      [](const std::vector<Tensor>& x) { return lstm_cell_pointwise(x[0], x[1]); }, inputs);
  EXPECT_TRUE(result.passed) << result.detail;
}

// Output, h_n and c_n flattened into one tensor so that gradcheck sees every result.
Tensor everything(const LSTMResult& r) {
  return concat({flatten(r.output), flatten(r.state.h), flatten(r.state.c)}, 0);
}

TEST(LSTM, GradcheckInputsStateAndParameters) {
  Generator gen(2);
  LSTM lstm({.input_size = 2, .hidden_size = 3, .num_layers = 2, .batch_first = true, .dtype = DType::Float64},
            gen);
  std::vector<Tensor> inputs{leaf({2, 3, 2}, gen), leaf({2, 2, 3}, gen), leaf({2, 2, 3}, gen)};
  for (const Tensor& p : lstm.parameters()) inputs.push_back(p);
  auto result = autograd::gradcheck(
      [&](const std::vector<Tensor>& x) { return everything(lstm.forward_with_state(x[0], LSTMState{x[1], x[2]})); },
      inputs);
  EXPECT_TRUE(result.passed) << result.detail;
}

TEST(LSTM, GradcheckUnbatchedWithoutBias) {
  Generator gen(3);
  LSTM lstm({.input_size = 3, .hidden_size = 2, .bias = false, .dtype = DType::Float64}, gen);
  std::vector<Tensor> inputs{leaf({4, 3}, gen)};
  for (const Tensor& p : lstm.parameters()) inputs.push_back(p);
  auto result = autograd::gradcheck(
      [&](const std::vector<Tensor>& x) { return everything(lstm.forward_with_state(x[0])); }, inputs);
  EXPECT_TRUE(result.passed) << result.detail;
}

TEST(LSTM, BatchFirstIsATransposeOfSequenceFirst) {
  Generator gen_a(4), gen_b(4), data_gen(5);
  LSTM seq_first({.input_size = 3, .hidden_size = 4, .num_layers = 2}, gen_a);
  LSTM batch_first({.input_size = 3, .hidden_size = 4, .num_layers = 2, .batch_first = true}, gen_b);
  const Tensor x = randn({5, 2, 3}, data_gen);
  const LSTMResult a = seq_first.forward_with_state(x);
  const LSTMResult b = batch_first.forward_with_state(transpose(x, 0, 1));
  EXPECT_TRUE(tensors_close(transpose(b.output, 0, 1), a.output, 0.0, 0.0));
  EXPECT_TRUE(tensors_close(b.state.h, a.state.h, 0.0, 0.0));
  EXPECT_TRUE(tensors_close(seq_first.forward(x), a.output, 0.0, 0.0));
}

TEST(LSTM, DropoutActsBetweenLayersInTrainingOnly) {
  Generator gen(6), data_gen(7);
  LSTM lstm({.input_size = 3, .hidden_size = 8, .num_layers = 2, .dropout = 0.5}, gen);
  const Tensor x = randn({4, 2, 3}, data_gen);
  const Tensor trained = lstm.forward(x);
  lstm.eval();
  const Tensor evaluated = lstm.forward(x);
  EXPECT_FALSE(tensors_close(trained, evaluated, 1e-6, 0.0));
  EXPECT_TRUE(tensors_close(lstm.forward(x), evaluated, 0.0, 0.0));
}

TEST(LSTM, ParameterNamesShapesAndInitialisation) {
  Generator gen(8);
  LSTM lstm({.input_size = 5, .hidden_size = 4, .num_layers = 2}, gen);
  const std::vector<std::pair<std::string, Shape>> expected{
      {"weight_ih_l0", {16, 5}}, {"weight_hh_l0", {16, 4}}, {"bias_ih_l0", {16}}, {"bias_hh_l0", {16}},
      {"weight_ih_l1", {16, 4}}, {"weight_hh_l1", {16, 4}}, {"bias_ih_l1", {16}}, {"bias_hh_l1", {16}}};
  const auto params = lstm.named_parameters();
  ASSERT_EQ(params.size(), expected.size());
  double largest = 0.0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(params[i].first, expected[i].first);
    EXPECT_EQ(params[i].second.shape(), expected[i].second);
    for (double v : params[i].second.to_vector<double>()) largest = std::max(largest, std::abs(v));
  }
  EXPECT_LE(largest, 0.5);  // U(-1/sqrt(4), 1/sqrt(4))
  EXPECT_GT(largest, 0.4);
  EXPECT_EQ(lstm.describe(), "LSTM(input_size=5, hidden_size=4, num_layers=2, bias=true, batch_first=false, dropout=0)");
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

TEST(LSTM, ErrorsNameTheProblem) {
  Generator gen(9);
  LSTM lstm({.input_size = 3, .hidden_size = 2, .num_layers = 2}, gen);
  expect_error_mentions([&] { lstm.forward(randn({4, 2, 5}, gen)); }, {"LSTM", "input_size = 3", "[4, 2, 5]"});
  expect_error_mentions([&] { lstm.forward(randn({3}, gen)); }, {"LSTM", "[3]"});
  expect_error_mentions(
      [&] {
        lstm.forward_with_state(randn({4, 2, 3}, gen), LSTMState{zeros(Shape{1, 2, 2}), zeros(Shape{2, 2, 2})});
      },
      {"LSTM", "initial h", "[2, 2, 2]", "[1, 2, 2]"});
  expect_error_mentions([&] { LSTM({.input_size = 3, .hidden_size = 0}, gen); }, {"hidden_size", "0"});
  expect_error_mentions([&] { LSTM({.input_size = 3, .hidden_size = 2, .dropout = 1.0}, gen); }, {"dropout", "1"});
  expect_error_mentions([&] { lstm_cell_pointwise(zeros(Shape{2, 7}), zeros(Shape{2, 2})); },
                        {"lstm_cell_pointwise", "[2, 7]", "[2, 2]"});
}

}  // namespace
}  // namespace descent::nn
