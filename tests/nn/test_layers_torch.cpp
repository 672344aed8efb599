// Layer modules against torch.nn modules run for several steps (tests/fixtures/layers_modules.json from
// tests/fixtures/make_layer_fixtures.py): outputs, gradients of inputs and parameters, and the state
// (parameters, running statistics, num_batches_tracked) after every step, in float64 and float32.
#include <gtest/gtest.h>

#include <memory>

#include "descent/autograd/node.hpp"
#include "descent/nn/conv.hpp"
#include "descent/nn/norm.hpp"
#include "fixtures/layer_fixture.hpp"

using namespace descent;
using namespace descent::layer_test;
using json = nlohmann::json;

namespace {

Size2d pair_of(const json& j) { return Size2d{j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()}; }

std::unique_ptr<nn::Module> build(const json& c, DType dtype, Generator& gen) {
  const std::string kind = c.at("module");
  const json& o = c.at("options");
  if (kind == "BatchNorm1d" || kind == "BatchNorm2d") {
    const std::int64_t features = o.at("num_features");
    const double eps = o.at("eps");
    std::optional<double> momentum;
    if (!o.at("momentum").is_null()) momentum = o.at("momentum").get<double>();
    if (kind == "BatchNorm1d") return std::make_unique<nn::BatchNorm1d>(features, eps, momentum, true, true, dtype);
    return std::make_unique<nn::BatchNorm2d>(features, eps, momentum, true, true, dtype);
  }
  if (kind == "Conv2d")
    return std::make_unique<nn::Conv2d>(o.at("in_channels").get<std::int64_t>(),
                                        o.at("out_channels").get<std::int64_t>(),
                                        pair_of(o.at("kernel_size")), gen, pair_of(o.at("stride")),
                                        pair_of(o.at("padding")), pair_of(o.at("dilation")),
                                        o.at("groups").get<std::int64_t>(), o.at("bias").get<bool>(), dtype);
  if (kind == "LayerNorm")
    return std::make_unique<nn::LayerNorm>(o.at("normalized_shape").get<std::vector<std::int64_t>>(),
                                           o.at("eps").get<double>(), true, true, dtype);
  throw std::runtime_error("unknown module " + kind);
}

void run_modules(DType dtype) {
  const json doc = load_layer_fixture("layers_modules.json");
  const Tolerance tol = tolerance_for(dtype);
  ASSERT_FALSE(doc.at("cases").empty());
  for (const json& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>() + " in " + dtype_name(dtype));
    Generator gen(0);
    auto module = build(c, dtype, gen);
    std::map<std::string, Tensor> state;
    for (const auto& [name, value] : c.at("state").items()) state[name] = fixture_tensor(value, dtype);
    module->load_state_dict(state);
    int index = 0;
    for (const json& step : c.at("steps")) {
      SCOPED_TRACE("step " + std::to_string(index++));
      module->train(step.at("train").get<bool>());
      module->zero_grad();
      Tensor x = fixture_tensor(step.at("input"), dtype);
      if (step.contains("grads")) x.set_requires_grad(true);
      Tensor out = module->forward(x);
      EXPECT_TRUE(tensors_close(out, fixture_tensor(step.at("output")), tol.atol, tol.rtol)) << "output";
      if (step.contains("grads")) {
        autograd::backward(out, fixture_tensor(step.at("grad_output"), dtype));
        std::map<std::string, Tensor> params;
        for (const auto& [name, t] : module->named_parameters()) params[name] = t;
        for (const auto& [name, expected] : step.at("grads").items()) {
          const Tensor actual = name == "input" ? x.grad() : params.at(name).grad();
          EXPECT_TRUE(tensors_close(actual, fixture_tensor(expected), tol.atol, tol.rtol)) << "gradient of " << name;
        }
      }
      const auto after = module->state_dict();
      ASSERT_EQ(after.size(), step.at("state").size());
      for (const auto& [name, expected] : step.at("state").items())
        EXPECT_TRUE(tensors_close(after.at(name), fixture_tensor(expected), tol.atol, tol.rtol)) << name;
    }
  }
}

}  // namespace

TEST(LayerModulesTorch, Float64) { run_modules(DType::Float64); }
TEST(LayerModulesTorch, Float32) { run_modules(DType::Float32); }
