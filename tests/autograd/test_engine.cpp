#include <gtest/gtest.h>

#include <cmath>

#include "descent/autograd/node.hpp"
#include "descent/autograd/ops.hpp"

using namespace descent;

TEST(Engine, AccumulatesIntoLeafGrad) {
  Tensor w = from_vector(std::vector<float>{1, 2, 3}, {3});
  w.set_requires_grad(true);
  autograd::backward(sum(mul(w, w)));
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{2, 4, 6}));
  autograd::backward(sum(w));
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{3, 5, 7}));
}

TEST(Engine, DiamondGraphSumsBothPaths) {
  Tensor x = from_vector(std::vector<double>{1.5}, {1});
  x.set_requires_grad(true);
  Tensor y = exp(x);
  Tensor z = add(mul(y, y), y);  // d/dx (e^2x + e^x) = 2e^2x + e^x
  autograd::backward(sum(z));
  EXPECT_NEAR(x.grad().item<double>(), 2 * std::exp(3.0) + std::exp(1.5), 1e-9);
}

TEST(Engine, NonScalarNeedsGradient) {
  Tensor x = ones({3});
  x.set_requires_grad(true);
  Tensor y = mul(x, 2.0);
  EXPECT_THROW(autograd::backward(y), Error);
  autograd::backward(y, from_vector(std::vector<float>{1, 0, 2}, {3}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, 0, 4}));
}

TEST(Engine, NoGradRecordsNothing) {
  Tensor x = ones({2});
  x.set_requires_grad(true);
  Tensor y;
  {
    NoGradGuard guard;
    y = mul(x, 3.0);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_THROW(autograd::backward(sum(y)), Error);
}

TEST(Engine, DetachCutsTheGraph) {
  Tensor x = ones({2});
  x.set_requires_grad(true);
  Tensor y = mul(x, 3.0).detach();
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(mul(x, 2.0).requires_grad());
}

TEST(Engine, SecondBackwardWithoutRetainIsAnError) {
  Tensor x = ones({2});
  x.set_requires_grad(true);
  Tensor loss = sum(exp(x));
  autograd::backward(loss);
  EXPECT_THROW(autograd::backward(loss), Error);
  Tensor loss2 = sum(exp(x));
  autograd::backward(loss2, Tensor(), true);
  EXPECT_NO_THROW(autograd::backward(loss2));
}

TEST(Engine, InPlaceChangeOfSavedTensorIsDetected) {
  Tensor x = ones({3});
  x.set_requires_grad(true);
  Tensor y = mul(x, 2.0);
  Tensor z = exp(y);  // saves y's input and output
  {
    NoGradGuard guard;
    y.fill_(5.0);
  }
  EXPECT_THROW(autograd::backward(sum(z)), Error);
}

TEST(Engine, GradReturnsWithoutAccumulating) {
  Tensor x = from_vector(std::vector<double>{2.0}, {1});
  x.set_requires_grad(true);
  Tensor y = mul(mul(x, x), x);
  auto grads = autograd::grad(sum(y), {x});
  EXPECT_NEAR(grads[0].item<double>(), 12.0, 1e-12);
  EXPECT_FALSE(x.grad().defined());
}

TEST(Errors, ShapeMismatchNamesOpAndShapes) {
  try {
    add(ones({2, 3}), ones({4}));
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("add"), std::string::npos);
    EXPECT_NE(msg.find("[2, 3]"), std::string::npos);
    EXPECT_NE(msg.find("[4]"), std::string::npos);
  }
  EXPECT_THROW(matmul(ones({2, 3}), ones({2, 3})), Error);
  EXPECT_THROW(add(ones({2}), ones({2}, DType::Float64)), Error);
  EXPECT_THROW(view(transpose(ones({2, 3}), 0, 1), {6}), Error);
  EXPECT_THROW(reshape(ones({2, 3}), {4, -1}), Error);
}

TEST(Views, ShareStorageAndReshapeCopiesWhenNeeded) {
  Tensor a = from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor t = transpose(a, 0, 1);
  EXPECT_TRUE(t.shares_storage(a));
  Tensor r = reshape(t, {6});
  EXPECT_FALSE(r.shares_storage(a));
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_TRUE(view(a, {3, 2}).shares_storage(a));
}

TEST(Reductions, Values) {
  Tensor a = from_vector(std::vector<float>{1, 5, 3, 4, 2, 6}, {2, 3});
  EXPECT_EQ(sum(a, {1}).to_vector<float>(), (std::vector<float>{9, 12}));
  EXPECT_EQ(max(a, 1).to_vector<float>(), (std::vector<float>{5, 6}));
  EXPECT_EQ(argmax(a, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(argmin(a, 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 0}));
  EXPECT_FLOAT_EQ(var(a, {1}).to_vector<float>()[0], 4.0f);
  EXPECT_FLOAT_EQ(mean(a).item<float>(), 3.5f);
}
