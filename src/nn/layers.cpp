#include "descent/nn/layers.hpp"

#include <cmath>

#include "descent/nn/init.hpp"

namespace descent::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, Generator& gen, bool bias, DType dtype)
    : in_features_(in_features), out_features_(out_features) {
  DESCENT_CHECK(in_features > 0 && out_features > 0, "Linear: in_features and out_features must be positive, got ",
                in_features, " and ", out_features);
  Tensor w = empty(Shape{out_features, in_features}, dtype);
  init::kaiming_uniform_(w, gen, std::sqrt(5.0));
  weight_ = register_parameter("weight", w);
  if (bias) {
    Tensor b = empty(Shape{out_features}, dtype);
    const double bound = 1.0 / std::sqrt(double(in_features));
    init::uniform_(b, gen, -bound, bound);
    bias_ = register_parameter("bias", b);
  }
}

Tensor Linear::forward(const Tensor& input) { return linear(input, weight_, bias_); }

std::string Linear::describe() const {
  return "Linear(in_features=" + std::to_string(in_features_) + ", out_features=" + std::to_string(out_features_) +
         ", bias=" + (bias_.defined() ? "true" : "false") + ")";
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) push_back(std::move(m));
}

Sequential& Sequential::push_back(std::shared_ptr<Module> module) {
  add_child(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (auto& m : modules_) x = m->forward(x);
  return x;
}

std::string Flatten::describe() const {
  return "Flatten(start_dim=" + std::to_string(start_) + ", end_dim=" + std::to_string(end_) + ")";
}

std::shared_ptr<Module> ReLU() { return std::make_shared<Activation>("ReLU", [](const Tensor& x) { return relu(x); }); }
std::shared_ptr<Module> LeakyReLU(double slope) {
  return std::make_shared<Activation>("LeakyReLU(negative_slope=" + std::to_string(slope) + ")",
                                      [slope](const Tensor& x) { return leaky_relu(x, slope); });
}
std::shared_ptr<Module> GELU(const std::string& approximate) {
  DESCENT_CHECK(approximate == "none" || approximate == "tanh", "GELU: approximate must be 'none' or 'tanh', got '",
                approximate, "'");
  return std::make_shared<Activation>("GELU(approximate=" + approximate + ")",
                                      [approximate](const Tensor& x) { return gelu(x, approximate); });
}
std::shared_ptr<Module> SiLU() { return std::make_shared<Activation>("SiLU", [](const Tensor& x) { return silu(x); }); }
std::shared_ptr<Module> Tanh() { return std::make_shared<Activation>("Tanh", [](const Tensor& x) { return tanh(x); }); }
std::shared_ptr<Module> Sigmoid() {
  return std::make_shared<Activation>("Sigmoid", [](const Tensor& x) { return sigmoid(x); });
}
std::shared_ptr<Module> Softmax(std::int64_t dim) {
  return std::make_shared<Activation>("Softmax(dim=" + std::to_string(dim) + ")",
                                      [dim](const Tensor& x) { return softmax(x, dim); });
}
std::shared_ptr<Module> LogSoftmax(std::int64_t dim) {
  return std::make_shared<Activation>("LogSoftmax(dim=" + std::to_string(dim) + ")",
                                      [dim](const Tensor& x) { return log_softmax(x, dim); });
}

std::shared_ptr<Module> activation(const std::string& name) {
  if (name == "relu") return ReLU();
  if (name == "leaky_relu") return LeakyReLU();
  if (name == "gelu") return GELU();
  if (name == "gelu_tanh") return GELU("tanh");
  if (name == "silu") return SiLU();
  if (name == "tanh") return Tanh();
  if (name == "sigmoid") return Sigmoid();
  if (name == "identity") return std::make_shared<Identity>();
  throw Error("activation: unknown name '" + name +
              "' (expected relu, leaky_relu, gelu, gelu_tanh, silu, tanh, sigmoid or identity)");
}

}  // namespace descent::nn
