// Every differentiable operation of ops.hpp checked against central finite differences in float64,
// including broadcasting and non-contiguous inputs.
#include <gtest/gtest.h>

#include <functional>

#include "descent/autograd/gradcheck.hpp"
#include "descent/autograd/node.hpp"
#include "descent/autograd/ops.hpp"
#include "descent/nn/loss.hpp"

using namespace descent;
using Inputs = std::vector<Tensor>;

namespace {

Tensor leaf(const Shape& shape, std::uint64_t seed, double low = -1.0, double high = 1.0) {
  Generator gen(seed);
  Tensor t = rand(shape, gen, DType::Float64, low, high);
  t.set_requires_grad(true);
  return t;
}

// A non-contiguous leaf: the transpose of a contiguous [cols, rows] tensor.
Tensor transposed_leaf(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  Generator gen(seed);
  Tensor base = rand(Shape{cols, rows}, gen, DType::Float64, -1.0, 1.0);
  Tensor t = as_strided(base, Shape{rows, cols}, Shape{1, rows}, 0);
  t.set_requires_grad(true);
  return t;
}

struct Case {
  std::string name;
  std::function<Tensor(const Inputs&)> f;
  std::function<Inputs()> inputs;
};

void check(const Case& c) {
  auto result = autograd::gradcheck(c.f, c.inputs());
  EXPECT_TRUE(result.passed) << c.name << ": " << result.detail;
}

}  // namespace

TEST(Gradcheck, Elementwise) {
  const std::vector<Case> cases = {
      {"add broadcast", [](const Inputs& x) { return add(x[0], x[1]); }, [] { return Inputs{leaf({3, 4}, 1), leaf({4}, 2)}; }},
      {"sub broadcast", [](const Inputs& x) { return sub(x[0], x[1]); }, [] { return Inputs{leaf({3, 1}, 1), leaf({1, 4}, 2)}; }},
      {"mul", [](const Inputs& x) { return mul(x[0], x[1]); }, [] { return Inputs{leaf({2, 3}, 3), leaf({2, 3}, 4)}; }},
      {"mul non-contiguous", [](const Inputs& x) { return mul(x[0], x[1]); },
       [] { return Inputs{transposed_leaf(3, 4, 5), leaf({4}, 6)}; }},
      {"div", [](const Inputs& x) { return div(x[0], x[1]); }, [] { return Inputs{leaf({5}, 7), leaf({5}, 8, 0.5, 2.0)}; }},
      {"pow scalar", [](const Inputs& x) { return pow(x[0], 3.0); }, [] { return Inputs{leaf({6}, 9)}; }},
      {"pow tensor", [](const Inputs& x) { return pow(x[0], x[1]); }, [] { return Inputs{leaf({4}, 10, 0.5, 2.0), leaf({4}, 11)}; }},
      {"maximum", [](const Inputs& x) { return maximum(x[0], x[1]); }, [] { return Inputs{leaf({7}, 12), leaf({7}, 13)}; }},
      {"minimum", [](const Inputs& x) { return minimum(x[0], x[1]); }, [] { return Inputs{leaf({7}, 14), leaf({7}, 15)}; }},
      {"neg", [](const Inputs& x) { return neg(x[0]); }, [] { return Inputs{leaf({3}, 16)}; }},
      {"exp", [](const Inputs& x) { return exp(x[0]); }, [] { return Inputs{transposed_leaf(2, 3, 17)}; }},
      {"log", [](const Inputs& x) { return log(x[0]); }, [] { return Inputs{leaf({5}, 18, 0.5, 3.0)}; }},
      {"sqrt", [](const Inputs& x) { return sqrt(x[0]); }, [] { return Inputs{leaf({5}, 19, 0.5, 3.0)}; }},
      {"abs", [](const Inputs& x) { return abs(x[0]); }, [] { return Inputs{leaf({8}, 20)}; }},
      {"clamp", [](const Inputs& x) { return clamp(x[0], -0.5, 0.5); }, [] { return Inputs{leaf({8}, 21)}; }},
      {"relu", [](const Inputs& x) { return relu(x[0]); }, [] { return Inputs{leaf({8}, 22)}; }},
      {"leaky_relu", [](const Inputs& x) { return leaky_relu(x[0], 0.2); }, [] { return Inputs{leaf({8}, 23)}; }},
      {"gelu", [](const Inputs& x) { return gelu(x[0]); }, [] { return Inputs{leaf({8}, 24, -3, 3)}; }},
      {"gelu tanh", [](const Inputs& x) { return gelu(x[0], "tanh"); }, [] { return Inputs{leaf({8}, 25, -3, 3)}; }},
      {"silu", [](const Inputs& x) { return silu(x[0]); }, [] { return Inputs{leaf({8}, 26, -3, 3)}; }},
      {"tanh", [](const Inputs& x) { return tanh(x[0]); }, [] { return Inputs{leaf({8}, 27, -3, 3)}; }},
      {"sigmoid", [](const Inputs& x) { return sigmoid(x[0]); }, [] { return Inputs{transposed_leaf(3, 2, 28)}; }},
      {"scalar ops", [](const Inputs& x) { return (x[0] * 2.0 + 1.0) / 3.0 - 0.5; }, [] { return Inputs{leaf({4}, 29)}; }},
  };
  for (const auto& c : cases) check(c);
}

TEST(Gradcheck, Reductions) {
  const std::vector<Case> cases = {
      {"sum all", [](const Inputs& x) { return sum(x[0]); }, [] { return Inputs{leaf({3, 4}, 1)}; }},
      {"sum dims keepdim", [](const Inputs& x) { return sum(x[0], {0, 2}, true); }, [] { return Inputs{leaf({2, 3, 4}, 2)}; }},
      {"sum non-contiguous", [](const Inputs& x) { return sum(x[0], {1}); }, [] { return Inputs{transposed_leaf(3, 5, 3)}; }},
      {"mean", [](const Inputs& x) { return mean(x[0], {-1}); }, [] { return Inputs{leaf({3, 4}, 4)}; }},
      {"max all", [](const Inputs& x) { return max(x[0]); }, [] { return Inputs{leaf({3, 4}, 5)}; }},
      {"max dim", [](const Inputs& x) { return max(x[0], 1); }, [] { return Inputs{leaf({3, 4, 2}, 6)}; }},
      {"min dim keepdim", [](const Inputs& x) { return min(x[0], 0, true); }, [] { return Inputs{transposed_leaf(3, 4, 7)}; }},
      {"var", [](const Inputs& x) { return var(x[0], {1}); }, [] { return Inputs{leaf({3, 5}, 8)}; }},
      {"softmax", [](const Inputs& x) { return softmax(x[0], 1); }, [] { return Inputs{leaf({2, 5, 3}, 9)}; }},
      {"log_softmax", [](const Inputs& x) { return log_softmax(x[0], -1); }, [] { return Inputs{transposed_leaf(4, 3, 10)}; }},
  };
  for (const auto& c : cases) check(c);
}

TEST(Gradcheck, LinearAlgebra) {
  const std::vector<Case> cases = {
      {"matmul 2d", [](const Inputs& x) { return matmul(x[0], x[1]); }, [] { return Inputs{leaf({3, 4}, 1), leaf({4, 2}, 2)}; }},
      {"matmul transposed", [](const Inputs& x) { return matmul(x[0], x[1]); },
       [] { return Inputs{transposed_leaf(3, 4, 3), transposed_leaf(4, 5, 4)}; }},
      {"matmul vec", [](const Inputs& x) { return matmul(x[0], x[1]); }, [] { return Inputs{leaf({4}, 5), leaf({4, 3}, 6)}; }},
      {"matmul dot", [](const Inputs& x) { return matmul(x[0], x[1]); }, [] { return Inputs{leaf({4}, 7), leaf({4}, 8)}; }},
      {"matmul batched broadcast", [](const Inputs& x) { return matmul(x[0], x[1]); },
       [] { return Inputs{leaf({2, 3, 4}, 9), leaf({4, 5}, 10)}; }},
      {"matmul batched", [](const Inputs& x) { return matmul(x[0], x[1]); },
       [] { return Inputs{leaf({2, 1, 3, 4}, 11), leaf({3, 4, 2}, 12)}; }},
      {"linear", [](const Inputs& x) { return linear(x[0], x[1], x[2]); },
       [] { return Inputs{leaf({5, 4}, 13), leaf({3, 4}, 14), leaf({3}, 15)}; }},
      {"linear 3d no bias", [](const Inputs& x) { return linear(x[0], x[1]); },
       [] { return Inputs{leaf({2, 5, 4}, 16), transposed_leaf(3, 4, 17)}; }},
  };
  for (const auto& c : cases) check(c);
}

TEST(Gradcheck, ShapeOps) {
  const std::vector<Case> cases = {
      {"reshape", [](const Inputs& x) { return reshape(x[0], {4, -1}); }, [] { return Inputs{leaf({2, 6}, 1)}; }},
      {"reshape non-contiguous", [](const Inputs& x) { return mul(reshape(x[0], {-1}), 2.0); },
       [] { return Inputs{transposed_leaf(3, 4, 2)}; }},
      {"transpose", [](const Inputs& x) { return transpose(x[0], 0, 2); }, [] { return Inputs{leaf({2, 3, 4}, 3)}; }},
      {"permute", [](const Inputs& x) { return permute(x[0], {2, 0, 1}); }, [] { return Inputs{leaf({2, 3, 4}, 4)}; }},
      {"slice step", [](const Inputs& x) { return slice(x[0], 1, 1, 6, 2); }, [] { return Inputs{leaf({2, 7}, 5)}; }},
      {"narrow", [](const Inputs& x) { return narrow(x[0], 0, 1, 2); }, [] { return Inputs{leaf({4, 3}, 6)}; }},
      {"select", [](const Inputs& x) { return select(x[0], 1, -1); }, [] { return Inputs{leaf({4, 3}, 7)}; }},
      {"squeeze unsqueeze", [](const Inputs& x) { return unsqueeze(squeeze(x[0], 1), 0); }, [] { return Inputs{leaf({4, 1, 3}, 8)}; }},
      {"expand", [](const Inputs& x) { return expand(x[0], {2, 3, 4}); }, [] { return Inputs{leaf({3, 1}, 9)}; }},
      {"contiguous", [](const Inputs& x) { return contiguous(x[0]); }, [] { return Inputs{transposed_leaf(2, 5, 10)}; }},
      {"concat", [](const Inputs& x) { return concat({x[0], x[1]}, 1); }, [] { return Inputs{leaf({2, 3}, 11), leaf({2, 2}, 12)}; }},
      {"stack", [](const Inputs& x) { return stack({x[0], x[1]}, 0); }, [] { return Inputs{leaf({2, 3}, 13), transposed_leaf(2, 3, 14)}; }},
      {"index_select", [](const Inputs& x) { return index_select(x[0], 0, from_vector(std::vector<std::int64_t>{2, 0, 2}, {3})); },
       [] { return Inputs{leaf({4, 3}, 15)}; }},
      {"chunk", [](const Inputs& x) { auto parts = chunk(x[0], 2, 1); return mul(parts[0], parts[1]); },
       [] { return Inputs{leaf({3, 4}, 16)}; }},
      {"flatten", [](const Inputs& x) { return flatten(x[0], 1); }, [] { return Inputs{leaf({2, 3, 4}, 17)}; }},
  };
  for (const auto& c : cases) check(c);
}

TEST(Gradcheck, Losses) {
  const auto labels = from_vector(std::vector<std::int64_t>{2, 0, 1, 2}, {4});
  const std::vector<Case> cases = {
      {"mse", [](const Inputs& x) { return nn::mse_loss(x[0], x[1]); }, [] { return Inputs{leaf({4, 2}, 1), leaf({4, 2}, 2)}; }},
      {"mse sum", [](const Inputs& x) { return nn::mse_loss(x[0], x[1], "sum"); }, [] { return Inputs{leaf({3}, 3), leaf({3}, 4)}; }},
      {"l1 none", [](const Inputs& x) { return nn::l1_loss(x[0], x[1], "none"); }, [] { return Inputs{leaf({5}, 5), leaf({5}, 6)}; }},
      {"huber", [](const Inputs& x) { return nn::huber_loss(x[0], x[1], "mean", 0.5); }, [] { return Inputs{leaf({6}, 7), leaf({6}, 8)}; }},
      {"cross_entropy", [labels](const Inputs& x) { return nn::cross_entropy(x[0], labels); }, [] { return Inputs{leaf({4, 3}, 9)}; }},
      {"cross_entropy smoothing none", [labels](const Inputs& x) { return nn::cross_entropy(x[0], labels, "none", 0.1); },
       [] { return Inputs{transposed_leaf(4, 3, 10)}; }},
      {"cross_entropy ignore", [labels](const Inputs& x) { return nn::cross_entropy(x[0], labels, "mean", 0.0, 0); },
       [] { return Inputs{leaf({4, 3}, 11)}; }},
      {"cross_entropy spatial",
       [](const Inputs& x) { return nn::cross_entropy(x[0], from_vector(std::vector<std::int64_t>{0, 1, 2, 1}, {2, 2})); },
       [] { return Inputs{leaf({2, 3, 2}, 12)}; }},
      {"nll", [labels](const Inputs& x) { return nn::nll_loss(log_softmax(x[0], 1), labels); }, [] { return Inputs{leaf({4, 3}, 13)}; }},
      {"bce_with_logits", [](const Inputs& x) { return nn::binary_cross_entropy_with_logits(x[0], x[1]); },
       [] { return Inputs{leaf({3, 2}, 14, -3, 3), leaf({3, 2}, 15, 0, 1)}; }},
      {"bce pos_weight", [](const Inputs& x) { return nn::binary_cross_entropy_with_logits(x[0], x[1], "sum", x[2]); },
       [] { return Inputs{leaf({3, 2}, 16, -3, 3), leaf({3, 2}, 17, 0, 1), leaf({2}, 18, 0.5, 2)}; }},
  };
  for (const auto& c : cases) check(c);
}

TEST(Gradcheck, CanFail) {
  // A deliberately wrong backward must be caught: the check is not vacuous.
  auto wrong = [](const Inputs& x) {
    Tensor y = mul(x[0], 2.0);
    Tensor z = y.detach();  // cuts the graph: analytic gradient is 0, numeric is 2
    return add(mul(x[0], 0.0), z);
  };
  auto result = autograd::gradcheck(wrong, Inputs{leaf({3}, 1)});
  EXPECT_FALSE(result.passed);
}
