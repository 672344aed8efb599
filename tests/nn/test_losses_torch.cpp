// Linear, activations and losses against PyTorch (tests/fixtures/make_loss_fixtures.py): the forward
// value and the gradient of sum(output * weights) with respect to every floating input, in float64.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "descent/autograd/node.hpp"
#include "descent/nn/loss.hpp"
#include "fixtures/layer_fixture.hpp"

using namespace descent;
using descent::layer_test::fixture_indices;
using descent::layer_test::fixture_tensor;
using descent::layer_test::load_layer_fixture;
using descent::layer_test::tensors_close;
using Inputs = std::vector<Tensor>;

namespace {
const std::map<std::string, std::function<Tensor(const Inputs&)>>& functions() {
  static const std::map<std::string, std::function<Tensor(const Inputs&)>> table = {
      {"relu", [](const Inputs& x) { return relu(x[0]); }},
      {"leaky_relu", [](const Inputs& x) { return leaky_relu(x[0], 0.2); }},
      {"gelu", [](const Inputs& x) { return gelu(x[0]); }},
      {"gelu_tanh", [](const Inputs& x) { return gelu(x[0], "tanh"); }},
      {"silu", [](const Inputs& x) { return silu(x[0]); }},
      {"tanh", [](const Inputs& x) { return tanh(x[0]); }},
      {"sigmoid", [](const Inputs& x) { return sigmoid(x[0]); }},
      {"softmax", [](const Inputs& x) { return softmax(x[0], 1); }},
      {"log_softmax", [](const Inputs& x) { return log_softmax(x[0], 0); }},
      {"linear", [](const Inputs& x) { return linear(x[0], x[1], x[2]); }},
      {"mse_mean", [](const Inputs& x) { return nn::mse_loss(x[0], x[1]); }},
      {"l1_sum", [](const Inputs& x) { return nn::l1_loss(x[0], x[1], "sum"); }},
      {"huber_none", [](const Inputs& x) { return nn::huber_loss(x[0], x[1], "none", 0.7); }},
      {"cross_entropy", [](const Inputs& x) { return nn::cross_entropy(x[0], x[1]); }},
      {"cross_entropy_smoothing_sum", [](const Inputs& x) { return nn::cross_entropy(x[0], x[1], "sum", 0.15); }},
      {"cross_entropy_ignore", [](const Inputs& x) { return nn::cross_entropy(x[0], x[1], "mean", 0.0, 0); }},
      {"cross_entropy_spatial", [](const Inputs& x) { return nn::cross_entropy(x[0], x[1]); }},
      {"nll_loss", [](const Inputs& x) { return nn::nll_loss(log_softmax(x[0], 1), x[1]); }},
      {"bce_with_logits", [](const Inputs& x) { return nn::binary_cross_entropy_with_logits(x[0], x[1]); }},
      {"bce_with_logits_pos_weight",
       [](const Inputs& x) { return nn::binary_cross_entropy_with_logits(x[0], x[1], "sum", x[2].detach()); }},
  };
  return table;
}
}  // namespace

TEST(TorchReference, ActivationsLinearAndLosses) {
  const auto fixture = load_layer_fixture("losses_activations.json");
  std::size_t checked = 0;
  for (const auto& c : fixture.at("cases")) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    auto it = functions().find(name);
    ASSERT_NE(it, functions().end()) << "no descent function for fixture case " << name;
    Inputs inputs;
    for (std::size_t i = 0; i < c.at("inputs").size(); ++i) {
      if (c.at("dtypes")[i] == "int64") {
        inputs.push_back(fixture_indices(c.at("inputs")[i]));
      } else {
        Tensor t = fixture_tensor(c.at("inputs")[i]);
        t.set_requires_grad(true);
        inputs.push_back(t);
      }
    }
    Tensor out = it->second(inputs);
    EXPECT_TRUE(tensors_close(out, fixture_tensor(c.at("output")), 1e-10, 1e-8));
    autograd::backward(out, fixture_tensor(c.at("weights")));
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const auto& expected = c.at("grads")[i];
      if (expected.is_null() || !inputs[i].requires_grad()) continue;
      EXPECT_TRUE(tensors_close(inputs[i].grad(), fixture_tensor(expected), 1e-10, 1e-8)) << "gradient of input " << i;
    }
    ++checked;
  }
  EXPECT_EQ(checked, functions().size());
}
