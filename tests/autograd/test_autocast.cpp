// Autocast: every product it covers against the float64 result and against central finite differences of
// the float64 function, in bfloat16 and float16, within each dtype's tolerance; the bfloat16 kernels
// against each other; the weight cache; scopes; errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "descent/autograd/attention.hpp"
#include "descent/autograd/autocast.hpp"
#include "descent/autograd/functional.hpp"
#include "descent/autograd/node.hpp"
#include "descent/autograd/ops.hpp"
#include "descent/core/blas.hpp"
#include "descent/nn/rnn.hpp"
#include "descent/nn/transformer.hpp"

namespace descent {
namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct OpCase {
  const char* name;
  std::vector<Shape> shapes;
  Fn f;
};

// ||a - b|| / ||b|| over all elements, in float64.
double relative_error(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    diff += (x[i] - y[i]) * (x[i] - y[i]);
    norm += y[i] * y[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

std::vector<Tensor> leaves(const std::vector<Tensor>& values, DType dtype) {
  std::vector<Tensor> out;
  for (const auto& v : values) {
    Tensor t = v.to(dtype);
    t.set_requires_grad(true);
    out.push_back(t);
  }
  return out;
}

// Gradients of sum(f(inputs) * weight) with respect to each input.
std::vector<Tensor> gradients(const Fn& f, const std::vector<Tensor>& inputs, const Tensor& weight) {
  Tensor out = f(inputs);
  autograd::backward(sum(mul(out, weight.to(out.dtype()))));
  std::vector<Tensor> grads;
  for (const auto& t : inputs) grads.push_back(t.grad());
  return grads;
}

double tolerance(Precision p) { return p == Precision::BFloat16 ? 2e-2 : 3e-3; }

void check_case(const OpCase& c, Precision precision) {
  SCOPED_TRACE(std::string(c.name) + " in " + precision_name(precision));
  Generator gen(17);
  std::vector<Tensor> values;
  for (const auto& s : c.shapes) values.push_back(randn(s, gen, DType::Float64));
  const auto exact_inputs = leaves(values, DType::Float64);
  const Tensor exact = c.f(exact_inputs);
  const Tensor weight = randn(exact.shape(), gen, DType::Float64);
  const auto exact_grads = gradients(c.f, exact_inputs, weight);

  const auto fp32_inputs = leaves(values, DType::Float32);
  const Tensor fp32 = c.f(fp32_inputs);
  const auto mixed_inputs = leaves(values, DType::Float32);
  std::vector<Tensor> mixed_grads;
  Tensor mixed;
  {
    Autocast scope(precision);
    mixed = c.f(mixed_inputs);
    mixed_grads = gradients(c.f, mixed_inputs, weight);
  }
  ASSERT_EQ(mixed.dtype(), DType::Float32);
  const double err = relative_error(mixed, exact);
  EXPECT_LT(err, tolerance(precision));
  // The 16-bit operands really were used: the result is not the float32 one.
  EXPECT_GT(relative_error(mixed, fp32), 1e-5) << "autocast left the product in float32";
  for (std::size_t i = 0; i < exact_grads.size(); ++i) {
    ASSERT_TRUE(mixed_grads[i].defined()) << "input " << i;
    ASSERT_EQ(mixed_grads[i].dtype(), DType::Float32);
    EXPECT_LT(relative_error(mixed_grads[i], exact_grads[i]), tolerance(precision)) << "gradient of input " << i;
  }
  // Central finite differences of the float64 function at a few elements of every input.
  NoGradGuard no_grad;
  const auto loss_at = [&](std::vector<Tensor> inputs) { return sum(mul(c.f(inputs), weight)).item<double>(); };
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::int64_t n = values[i].numel();
    const auto analytic = mixed_grads[i].to_vector<double>();
    double diff = 0, norm = 0;
    for (std::int64_t e = 0; e < n; e += std::max<std::int64_t>(1, n / 7)) {
      const double h = 1e-6;
      std::vector<Tensor> plus = values, minus = values;
      plus[i] = values[i].clone();
      minus[i] = values[i].clone();
      plus[i].data<double>()[e] += h;
      minus[i].data<double>()[e] -= h;
      const double numeric = (loss_at(plus) - loss_at(minus)) / (2 * h);
      diff += (analytic[std::size_t(e)] - numeric) * (analytic[std::size_t(e)] - numeric);
      norm += numeric * numeric;
    }
    EXPECT_LT(std::sqrt(diff / std::max(norm, 1e-300)), 2 * tolerance(precision))
        << "finite differences of input " << i;
  }
}

std::vector<OpCase> cases() {
  return {
      {"linear", {{13, 37}, {29, 37}, {29}}, [](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }},
      {"linear on 3-D input", {{2, 5, 37}, {11, 37}},
       [](const std::vector<Tensor>& t) { return linear(t[0], t[1]); }},
      {"matmul", {{17, 33}, {33, 9}}, [](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); }},
      {"matmul of a transposed view", {{17, 33}, {9, 33}},
       [](const std::vector<Tensor>& t) { return matmul(t[0], transpose(t[1], 0, 1)); }},
      {"batched broadcast matmul", {{3, 1, 6, 8}, {4, 8, 5}},
       [](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); }},
      {"conv2d", {{3, 4, 9, 9}, {6, 4, 3, 3}, {6}},
       [](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], 2, 1); }},
      {"grouped dilated conv2d", {{2, 4, 8, 8}, {6, 2, 3, 3}},
       [](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], Tensor(), 1, 2, 2, 2); }},
      {"attention with a mask", {{2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 6}, {5, 7}},
       [](const std::vector<Tensor>& t) { return scaled_dot_product_attention(t[0], t[1], t[2], mul(t[3], 0.5)); }},
      {"conv2d, batch norm, relu and max pooling (16-bit saved tensors)", {{4, 3, 8, 8}, {5, 3, 3, 3}},
       [](const std::vector<Tensor>& t) {
         const Tensor y = batch_norm(conv2d(t[0], t[1], Tensor(), 1, 1), Tensor(), Tensor(), Tensor(), Tensor(), true);
         return max_pool2d(relu(y), 2);
       }},
      {"batch norm of channels whose mean dwarfs their spread", {{4, 3, 6, 6}, {4, 3, 3, 3}},
       [](const std::vector<Tensor>& t) {
         const Tensor y = batch_norm(add(t[0], 1000.0), Tensor(), Tensor(), Tensor(), Tensor(), true);
         return conv2d(y, t[1], Tensor(), 1, 1);
       }},
      {"linear and the saving activations", {{6, 9}, {7, 9}},
       [](const std::vector<Tensor>& t) {
         const Tensor y = linear(t[0], t[1]);
         return add(add(sigmoid(y), tanh(y)), add(gelu(y), add(silu(y), leaky_relu(y, 0.1))));
       }},
      {"causal attention", {{2, 6, 8}, {2, 6, 8}, {2, 6, 4}},
       [](const std::vector<Tensor>& t) {
         return scaled_dot_product_attention(t[0], t[1], t[2], Tensor(), 0.0, true);
       }},
  };
}

TEST(Autocast, EveryProductInBFloat16MatchesFloat64AndFiniteDifferences) {
  for (const auto& c : cases()) check_case(c, Precision::BFloat16);
}

TEST(Autocast, EveryProductInFloat16MatchesFloat64AndFiniteDifferences) {
  for (const auto& c : cases()) check_case(c, Precision::Float16);
}

// Modules built on the products: the LSTM's gate GEMMs and multi-head attention.
void check_module(nn::Module& module, const Tensor& input, Precision precision) {
  SCOPED_TRACE(precision_name(precision));
  const Tensor reference = module.forward(input);
  Tensor mixed;
  {
    Autocast scope(precision);
    mixed = module.forward(input);
    autograd::backward(sum(mixed));
  }
  EXPECT_LT(relative_error(mixed, reference), tolerance(precision));
  EXPECT_GT(relative_error(mixed, reference), 1e-6);
  for (const auto& p : module.parameters()) ASSERT_TRUE(p.grad().defined());
}

TEST(Autocast, LstmAndMultiheadAttentionRunTheirProductsInLowPrecision) {
  Generator gen(5);
  nn::LSTMOptions lo;
  lo.input_size = 12;
  lo.hidden_size = 16;
  lo.num_layers = 2;
  lo.batch_first = true;
  nn::LSTM lstm(lo, gen);
  nn::MultiheadAttentionOptions ao;
  ao.embed_dim = 16;
  ao.num_heads = 4;
  ao.batch_first = true;
  nn::MultiheadAttention attention(ao, gen);
  for (Precision p : {Precision::BFloat16, Precision::Float16}) {
    check_module(lstm, randn(Shape{3, 7, 12}, gen), p);
    check_module(attention, randn(Shape{3, 7, 16}, gen), p);
  }
}

TEST(Autocast, OneDnnAndWideningKernelsGiveTheSameTraining) {
  if (!blas::cpu_has_bf16()) GTEST_SKIP() << "this processor lacks AVX512-BF16";
  const blas::Bf16Kernel initial = blas::bf16_kernel();
  const auto run = [](blas::Bf16Kernel kernel) {
    blas::set_bf16_kernel(kernel);
    Generator gen(9);
    Tensor x = randn(Shape{64, 96}, gen), w = randn(Shape{80, 96}, gen), img = randn(Shape{8, 3, 12, 12}, gen);
    Tensor k = randn(Shape{16, 3, 5, 5}, gen);
    w.set_requires_grad(true);
    k.set_requires_grad(true);
    Autocast scope(Precision::BFloat16);
    Tensor loss = add(sum(relu(linear(x, w))), sum(relu(conv2d(img, k, Tensor(), 1, 2))));
    autograd::backward(loss);
    return std::vector<Tensor>{loss.detach(), w.grad(), k.grad()};
  };
  const auto fast = run(blas::Bf16Kernel::OneDnn), wide = run(blas::Bf16Kernel::Widen);
  blas::set_bf16_kernel(initial);
  for (std::size_t i = 0; i < fast.size(); ++i) EXPECT_LT(relative_error(fast[i], wide[i]), 1e-3) << "result " << i;
}

TEST(Autocast, WeightCopiesAreMadeOncePerScopeAndRenewedWhenTheWeightChanges) {
  Generator gen(1);
  Tensor w = randn(Shape{4, 5}, gen);
  w.set_requires_grad(true);
  const void* first = nullptr;
  {
    Autocast scope(Precision::BFloat16);
    const Tensor a = autograd::cast_for_autocast(w, DType::BFloat16);
    const Tensor b = autograd::cast_for_autocast(w, DType::BFloat16);
    EXPECT_EQ(a.raw_data(), b.raw_data());
    first = a.raw_data();
    {
      NoGradGuard no_grad;
      mul_(w, 2.0);  // an optimizer step: the storage's version changes
    }
    const Tensor c = autograd::cast_for_autocast(w, DType::BFloat16);
    EXPECT_NE(c.raw_data(), first);
    EXPECT_EQ(float(c.data<BFloat16>()[0]), float(BFloat16(w.data<float>()[0])));
  }
  // Outside a scope nothing is shared; inside, a copy lives only as long as someone holds it.
  Tensor plain = randn(Shape{3}, gen);
  const Tensor first_copy = autograd::cast_for_autocast(plain, DType::Float16);
  EXPECT_NE(autograd::cast_for_autocast(plain, DType::Float16).raw_data(), first_copy.raw_data());
  Autocast scope(Precision::Float16);
  const Tensor held = autograd::cast_for_autocast(plain, DType::Float16);
  EXPECT_EQ(autograd::cast_for_autocast(plain, DType::Float16).raw_data(), held.raw_data());
}

TEST(Autocast, ScopesNestAndRestore) {
  EXPECT_EQ(autocast_precision(), Precision::Float32);
  {
    Autocast outer(Precision::BFloat16);
    EXPECT_EQ(autocast_precision(), Precision::BFloat16);
    {
      Autocast inner(Precision::Float32);
      EXPECT_EQ(autocast_precision(), Precision::Float32);
      Generator gen(2);
      const Tensor a = randn(Shape{3, 4}, gen), b = randn(Shape{4, 2}, gen);
      EXPECT_LT(relative_error(matmul(a, b), matmul(a.to(DType::Float64), b.to(DType::Float64))), 1e-6);
    }
    EXPECT_EQ(autocast_precision(), Precision::BFloat16);
  }
  EXPECT_EQ(autocast_precision(), Precision::Float32);
  // float64 products are never cast.
  Autocast scope(Precision::BFloat16);
  Generator gen(3);
  const Tensor a = randn(Shape{3, 4}, gen, DType::Float64), b = randn(Shape{4, 2}, gen, DType::Float64);
  EXPECT_EQ(matmul(a, b).dtype(), DType::Float64);
}

TEST(Autocast, UnknownPrecisionIsAnErrorNamingTheForms) {
  EXPECT_EQ(parse_precision("bf16"), Precision::BFloat16);
  EXPECT_EQ(parse_precision("float16"), Precision::Float16);
  try {
    parse_precision("fp8", "trainer.precision");
    FAIL() << "fp8 was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "trainer.precision = \"fp8\": expected one of fp32, bf16, fp16");
  }
}

}  // namespace
}  // namespace descent

namespace descent {
namespace {

// What loss scaling buys in float16: a loss small enough that its output gradient is below float16's
// smallest subnormal (6e-8) gives all-zero weight gradients; scaled by 65536 first (and unscaled after,
// as GradScaler does) the gradients come back, matching float32's.
TEST(Autocast, Float16GradientsUnderflowWithoutLossScalingAndSurviveWithIt) {
  Generator gen(4);
  const Tensor x = randn(Shape{64, 32}, gen);
  Tensor w = randn(Shape{16, 32}, gen);
  w.set_requires_grad(true);
  const auto gradient = [&](Precision precision, double scale) {
    w.set_grad(Tensor());
    Autocast scope(precision);
    Tensor loss = mul(sum(linear(x, w)), 1e-9);  // d loss / d out = 1e-9 everywhere
    autograd::backward(mul(loss, scale));
    return mul(w.grad(), 1.0 / scale);
  };
  const Tensor reference = gradient(Precision::Float32, 1.0);
  const Tensor unscaled = gradient(Precision::Float16, 1.0);
  const Tensor scaled = gradient(Precision::Float16, 65536.0);
  EXPECT_EQ(sum(abs(unscaled)).item<double>(), 0.0) << "the float16 output gradient should underflow";
  EXPECT_LT(relative_error(scaled, reference), tolerance(Precision::Float16));
}

}  // namespace
}  // namespace descent

#include "descent/core/allocator.hpp"

namespace descent {
namespace {

// The activations a forward pass keeps for backward take at most 0.55x the bytes under bfloat16: a batch
// of data is kept as it is, each ReLU keeps its output once in 16 bits (shared with the next product's
// saved operand), and a conv, batch norm, ReLU, max-pool block keeps 16-bit tensors only.
std::size_t kept_bytes(Precision precision, const std::function<Tensor()>& forward) {
  const std::size_t before = CachingAllocator::instance().stats().bytes_in_use;
  Autocast scope(precision);
  const Tensor out = forward();
  return CachingAllocator::instance().stats().bytes_in_use - before;
}

TEST(Autocast, SavedActivationsTakeAtMostHalfTheBytesPlusAMargin) {
  Generator gen(6);
  const Tensor x = randn(Shape{512, 64}, gen), image = randn(Shape{32, 3, 16, 16}, gen);
  Tensor w1 = randn(Shape{256, 64}, gen), w2 = randn(Shape{256, 256}, gen), k = randn(Shape{16, 3, 3, 3}, gen);
  for (Tensor* t : {&w1, &w2, &k}) t->set_requires_grad(true);
  // Each ends in a sum, as a loss does: what stays allocated is what backward needs.
  const auto mlp = [&] { return sum(relu(linear(relu(linear(x, w1)), w2))); };
  const auto cnn = [&] {
    const Tensor y = batch_norm(conv2d(image, k, Tensor(), 1, 1), Tensor(), Tensor(), Tensor(), Tensor(), true);
    return sum(max_pool2d(relu(y), 2));
  };
  for (const auto& [name, f, weights] :
       {std::tuple{"mlp", std::function<Tensor()>(mlp), std::size_t((256 * 64 + 256 * 256) * 2)},
        std::tuple{"conv block", std::function<Tensor()>(cnn), std::size_t(16 * 27 * 2)}}) {
    const std::size_t fp32 = kept_bytes(Precision::Float32, f);
    const std::size_t bf16 = kept_bytes(Precision::BFloat16, f) - weights;  // the weights' copies are not activations
    EXPECT_LE(double(bf16), 0.55 * double(fp32)) << name << ": " << bf16 << " bytes in bf16, " << fp32 << " in fp32";
  }
}

}  // namespace
}  // namespace descent
