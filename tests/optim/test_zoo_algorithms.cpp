// Muon, Adafactor and the Optax-family algorithms: what the shared tables cannot check (2-D-only
// parameters, factored state size, Newton-Schulz orthogonality) and each algorithm's option errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "descent/core/rng.hpp"
#include "descent/optim/muon.hpp"
#include "helpers.hpp"

namespace descent::optim {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::string& name, std::vector<Tensor> params, const nlohmann::json& options) {
  try {
    make_optimizer(name, std::move(params), options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string error_of(const std::string& name, const nlohmann::json& options) {
  return error_of(name, {zeros(Shape{2, 2})}, options);
}

Tensor random_parameter(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  Tensor p = rand(shape, gen, DType::Float32, -1.0, 1.0);
  p.set_grad(zeros(shape));
  return p;
}

TEST(ZooOptions, InvalidValuesNameOptionValueAndRange) {
  EXPECT_THAT(error_of("lion", {{"betas", {0.9, 1.0}}}), HasSubstr("lion: betas[1] = 1: expected"));
  EXPECT_THAT(error_of("lamb", {{"eps_root", -1}}), HasSubstr("lamb: eps_root = -1: expected eps_root >= 0"));
  EXPECT_THAT(error_of("lars", {{"trust_coefficient", 0}}), HasSubstr("trust_coefficient = 0: expected trust_coefficient > 0"));
  EXPECT_THAT(error_of("adabelief", {{"eps", -1}}), HasSubstr("adabelief: eps = -1: expected"));
  EXPECT_THAT(error_of("yogi", {{"lr", -0.5}}), HasSubstr("yogi: lr = -0.5: expected a finite lr >= 0"));
  EXPECT_THAT(error_of("novograd", {{"betas", {-0.1, 0.25}}}), HasSubstr("betas[0] = -0.1"));
  EXPECT_THAT(error_of("adan", {{"betas", {0.98, 0.92, 1.0}}}), HasSubstr("adan: betas[2] = 1: expected 0 <= betas[2] < 1"));
  EXPECT_THAT(error_of("adan", {{"betas", {0.98, 0.92}}}), HasSubstr("expected an array of 3 numbers"));
  EXPECT_THAT(error_of("schedule_free_adamw", {{"warmup_steps", 1.5}}), HasSubstr("warmup_steps = 1.5: expected a whole number >= 0"));
  EXPECT_THAT(error_of("schedule_free_adamw", {{"betas", {0.0, 0.999}}}), HasSubstr("betas[0] = 0: expected 0 < betas[0] < 1"));
  EXPECT_THAT(error_of("adafactor", {{"beta2_decay", 0.5}}), HasSubstr("beta2_decay = 0.5: expected beta2_decay <= 0"));
  EXPECT_THAT(error_of("adafactor", {{"d", 0.5}}), HasSubstr("d = 0.5: expected d >= 1"));
  EXPECT_THAT(error_of("adafactor", {{"eps", {-1e-30, 1e-3}}}), HasSubstr("eps[0] = -1e-30"));
  EXPECT_THAT(error_of("muon", {{"adjust_lr_fn", "spectral"}}), HasSubstr("adjust_lr_fn = \"spectral\" is not valid; expected \"original\" or \"match_rms_adamw\""));
  EXPECT_THAT(error_of("muon", {{"ns_steps", 100}}), HasSubstr("ns_steps = 100: expected a whole number in [0, 100)"));
  EXPECT_THAT(error_of("muon", {{"momentum", 1.0}}), HasSubstr("momentum = 1: expected 0 <= momentum < 1"));
}

TEST(Muon, RejectsParametersThatAreNotMatricesNamingThem) {
  EXPECT_THAT(error_of("muon", {zeros(Shape{3, 4}), zeros(Shape{5})}, {}),
              HasSubstr("muon: parameter 1 has shape [5]; Muon updates 2-D parameters only"));
  auto muon = make_optimizer("muon", {random_parameter(Shape{3, 4}, 1)}, {});
  Tensor bias = random_parameter(Shape{4}, 2);
  muon->add_param_group({bias}, {});
  try {
    muon->step();
    FAIL() << "a 1-D parameter added later must be an Error at the step";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("parameter 1 has shape [4]"));
  }
}

TEST(Muon, NewtonSchulzBringsSingularValuesNearOne) {
  for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{8, 24}, {24, 8}}) {
    Generator gen(3);
    std::vector<float> x = rand(Shape{rows, cols}, gen, DType::Float32, -1.0, 1.0).to_vector<float>();
    newton_schulz(x, rows, cols, {3.4445, -4.775, 2.0315}, 5, 1e-7);
    // The Gram matrix over the short side: near the identity (PyTorch's coefficients leave the singular
    // values in roughly [0.7, 1.2] rather than converging to exactly 1).
    const std::int64_t small = std::min(rows, cols);
    for (std::int64_t i = 0; i < small; ++i)
      for (std::int64_t j = 0; j < small; ++j) {
        double dot = 0;
        for (std::int64_t k = 0; k < std::max(rows, cols); ++k)
          dot += rows < cols ? double(x[i * cols + k]) * x[j * cols + k] : double(x[k * cols + i]) * x[k * cols + j];
        if (i == j) {
          EXPECT_GT(dot, 0.45) << rows << "x" << cols;
          EXPECT_LT(dot, 1.45) << rows << "x" << cols;
        } else {
          EXPECT_LT(std::abs(dot), 0.3) << rows << "x" << cols;
        }
      }
  }
}

TEST(Muon, ReducesAMatrixLeastSquaresLossAndResumesFromState) {
  const Shape shape{6, 10};
  Tensor target = random_parameter(shape, 4);
  auto loss_and_grad = [&](const Tensor& w) {
    const auto x = w.to_vector<float>(), t = target.to_vector<float>();
    float* g = w.grad().data<float>();
    double loss = 0;
    for (std::size_t i = 0; i < x.size(); ++i) g[i] = x[i] - t[i], loss += 0.5 * double(g[i]) * g[i];
    return loss;
  };
  Tensor w = zeros(shape), copy = zeros(shape);
  w.set_grad(zeros(shape)), copy.set_grad(zeros(shape));
  const nlohmann::json options = {{"lr", 0.05}, {"weight_decay", 0.0}};
  auto muon = make_optimizer("muon", {w}, options);
  const double initial = loss_and_grad(w);
  for (int step = 0; step < 200; ++step) loss_and_grad(w), muon->step();
  EXPECT_LT(loss_and_grad(w), initial * 0.02);
  copy.copy_(w);
  auto resumed = make_optimizer("muon", {copy}, options);
  resumed->load_state_dict(muon->state_dict());
  for (int step = 0; step < 3; ++step) {
    loss_and_grad(w), muon->step();
    loss_and_grad(copy), resumed->step();
  }
  EXPECT_EQ(w.to_vector<float>(), copy.to_vector<float>());
}

TEST(Adafactor, FactoredStateIsRowsPlusColumns) {
  Tensor matrix = random_parameter(Shape{6, 10}, 5), batched = random_parameter(Shape{2, 3, 4}, 6);
  Tensor vector = random_parameter(Shape{7}, 7);
  auto adafactor = make_optimizer("adafactor", {matrix, batched, vector}, {});
  for (const Tensor* p : {&matrix, &batched, &vector}) p->grad().fill_(0.5);
  EXPECT_EQ(adafactor->state_bytes(), 0u);
  adafactor->step();
  EXPECT_EQ(adafactor->state_bytes(), ((6 + 10) + 2 * (3 + 4) + 7) * sizeof(float));
  const auto state = adafactor->state_dict();
  EXPECT_EQ(state.tensors.at("0.row_var").shape(), Shape({6, 1}));
  EXPECT_EQ(state.tensors.at("0.col_var").shape(), Shape({1, 10}));
  EXPECT_EQ(state.tensors.at("1.row_var").shape(), Shape({2, 3, 1}));
  EXPECT_EQ(state.tensors.at("1.col_var").shape(), Shape({2, 1, 4}));
  EXPECT_EQ(state.tensors.at("2.variance").shape(), Shape({7}));
  // A constant gradient has exact factored moments: every row and column mean is 0.25.
  for (float v : state.tensors.at("1.col_var").to_vector<float>()) EXPECT_FLOAT_EQ(v, 0.25f);
}

}  // namespace
}  // namespace descent::optim

namespace descent::optim::testing {
namespace {

// Adafactor's 1-D fast path (fused variance + norms pass, then the update) against its scalar reference
// loops, with and without weight decay: bitwise equal (the shared FastPath table runs the defaults).
TEST(Adafactor, UnfactoredFastPathMatchesReferenceLoop) {
  for (const double weight_decay : {0.0, 0.1}) {
    auto fast_set = make_params(odd_sizes(), /*arena=*/true, 7);
    auto reference_set = make_params(odd_sizes(), /*arena=*/false, 7);
    const nlohmann::json options = {{"lr", 0.05}, {"weight_decay", weight_decay}};
    auto fast = make_optimizer("adafactor", fast_set.params, options);
    auto reference = make_optimizer("adafactor", reference_set.params, options);
    reference->set_reference_path(true);
    for (int step = 0; step < 5; ++step) {
      fill_grads(fast_set.params, 11, step);
      fill_grads(reference_set.params, 11, step);
      fast->step();
      reference->step();
      ASSERT_EQ(compare_optimizers(fast_set.params, *fast, reference_set.params, *reference, 0), "")
          << "weight_decay " << weight_decay << ", step " << step + 1;
    }
  }
}

}  // namespace
}  // namespace descent::optim::testing
