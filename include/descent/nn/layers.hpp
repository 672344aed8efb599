#pragma once
// Linear, Sequential, Flatten, Identity and the activation modules.
#include <functional>
#include <memory>

#include "descent/core/rng.hpp"
#include "descent/nn/module.hpp"

namespace descent::nn {

// y = x W^T + b with PyTorch's default initialisation: W ~ kaiming_uniform(a = sqrt(5)),
// b ~ U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, Generator& gen, bool bias = true,
         DType dtype = DType::Float32);
  Tensor forward(const Tensor& input) override;
  std::string describe() const override;
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  std::int64_t in_features_, out_features_;
  Tensor weight_, bias_;
};

class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  // Appends a module named by its index ("0", "1", ...).
  Sequential& push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& input) override;
  std::string describe() const override { return "Sequential"; }
  std::size_t size() const { return modules_.size(); }
  Module& operator[](std::size_t i) { return *modules_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_(start_dim), end_(end_dim) {}
  Tensor forward(const Tensor& input) override { return flatten(input, start_, end_); }
  std::string describe() const override;

 private:
  std::int64_t start_, end_;
};

class Identity : public Module {
 public:
  Tensor forward(const Tensor& input) override { return input; }
  std::string describe() const override { return "Identity"; }
};

// An activation module wrapping an elementwise function.
class Activation : public Module {
 public:
  Activation(std::string description, std::function<Tensor(const Tensor&)> fn)
      : description_(std::move(description)), fn_(std::move(fn)) {}
  Tensor forward(const Tensor& input) override { return fn_(input); }
  std::string describe() const override { return description_; }

 private:
  std::string description_;
  std::function<Tensor(const Tensor&)> fn_;
};

std::shared_ptr<Module> ReLU();
std::shared_ptr<Module> LeakyReLU(double negative_slope = 0.01);
std::shared_ptr<Module> GELU(const std::string& approximate = "none");
std::shared_ptr<Module> SiLU();
std::shared_ptr<Module> Tanh();
std::shared_ptr<Module> Sigmoid();
std::shared_ptr<Module> Softmax(std::int64_t dim);
std::shared_ptr<Module> LogSoftmax(std::int64_t dim);
// By name: relu, leaky_relu, gelu, gelu_tanh, silu, tanh, sigmoid, identity.
std::shared_ptr<Module> activation(const std::string& name);

}  // namespace descent::nn
