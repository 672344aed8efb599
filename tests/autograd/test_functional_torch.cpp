// Layer operations against PyTorch: outputs, gradients and updated running statistics from
// tests/fixtures/layers_*.json (tests/fixtures/make_layer_fixtures.py), in float64 and float32.
#include <gtest/gtest.h>

#include <map>

#include "descent/autograd/functional.hpp"
#include "descent/autograd/node.hpp"
#include "descent/autograd/ops.hpp"
#include "fixtures/layer_fixture.hpp"

using namespace descent;
using namespace descent::layer_test;
using json = nlohmann::json;

namespace {

Size2d pair_of(const json& j) { return Size2d{j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()}; }

// The op named by the case, applied to its inputs (which may require grad).
Tensor apply(const json& c, std::map<std::string, Tensor>& in) {
  const std::string op = c.at("op");
  const json& o = c.at("options");
  auto input = [&](const char* name) { return in.count(name) ? in.at(name) : Tensor(); };
  if (op == "conv2d")
    return conv2d(in.at("input"), in.at("weight"), input("bias"), pair_of(o.at("stride")), pair_of(o.at("padding")),
                  pair_of(o.at("dilation")), o.at("groups").get<std::int64_t>());
  if (op == "max_pool2d")
    return max_pool2d(in.at("input"), pair_of(o.at("kernel_size")), pair_of(o.at("stride")), pair_of(o.at("padding")),
                      pair_of(o.at("dilation")), o.at("ceil_mode").get<bool>());
  if (op == "avg_pool2d")
    return avg_pool2d(in.at("input"), pair_of(o.at("kernel_size")), pair_of(o.at("stride")), pair_of(o.at("padding")),
                      o.at("ceil_mode").get<bool>(), o.at("count_include_pad").get<bool>());
  if (op == "batch_norm")
    return batch_norm(in.at("input"), in.at("running_mean"), in.at("running_var"), input("weight"), input("bias"),
                      o.at("training").get<bool>(), o.at("momentum").get<double>(), o.at("eps").get<double>());
  if (op == "layer_norm")
    return layer_norm(in.at("input"), o.at("normalized_shape").get<std::vector<std::int64_t>>(), input("weight"),
                      input("bias"), o.at("eps").get<double>());
  if (op == "embedding") {
    std::optional<std::int64_t> padding;
    if (!o.at("padding_idx").is_null()) padding = o.at("padding_idx").get<std::int64_t>();
    return embedding(in.at("indices"), in.at("weight"), padding);
  }
  throw std::runtime_error("unknown op " + op);
}

void run_fixture(const std::string& file, DType dtype) {
  const json doc = load_layer_fixture(file);
  const Tolerance tol = tolerance_for(dtype);
  ASSERT_FALSE(doc.at("cases").empty()) << file;
  for (const json& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>() + " in " + dtype_name(dtype));
    std::map<std::string, Tensor> inputs;
    for (const auto& [name, value] : c.at("inputs").items()) {
      if (name == "indices") {
        inputs[name] = fixture_indices(value);
        continue;
      }
      Tensor t = fixture_tensor(value, dtype);
      if (c.at("grads").contains(name)) t.set_requires_grad(true);
      inputs[name] = t;
    }
    Tensor out = apply(c, inputs);
    EXPECT_TRUE(tensors_close(out, fixture_tensor(c.at("output")), tol.atol, tol.rtol)) << "output";
    autograd::backward(out, fixture_tensor(c.at("grad_output"), dtype));
    for (const auto& [name, expected] : c.at("grads").items())
      EXPECT_TRUE(tensors_close(inputs.at(name).grad(), fixture_tensor(expected), tol.atol, tol.rtol))
          << "gradient of " << name;
    if (c.contains("after")) {
      for (const auto& [name, expected] : c.at("after").items())
        EXPECT_TRUE(tensors_close(inputs.at(name), fixture_tensor(expected), tol.atol, tol.rtol))
            << name << " after the call";
    }
  }
}

}  // namespace

TEST(FunctionalTorch, Conv2d) {
  run_fixture("layers_conv.json", DType::Float64);
  run_fixture("layers_conv.json", DType::Float32);
}

TEST(FunctionalTorch, Pooling) {
  run_fixture("layers_pool.json", DType::Float64);
  run_fixture("layers_pool.json", DType::Float32);
}

TEST(FunctionalTorch, Normalisation) {
  run_fixture("layers_norm.json", DType::Float64);
  run_fixture("layers_norm.json", DType::Float32);
}

TEST(FunctionalTorch, Embedding) {
  run_fixture("layers_embedding.json", DType::Float64);
  run_fixture("layers_embedding.json", DType::Float32);
}
