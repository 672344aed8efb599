#pragma once
// Shared fixtures for the optimizer tests: the table of configurations every test runs over, parameter
// layouts (separate tensors or views into one arena, as a built model has) and comparisons.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"
#include "descent/optim/optimizer.hpp"

namespace descent::optim::testing {

struct Config {
  std::string label;
  std::string name;
  nlohmann::json options;
};

// Every algorithm and every variant that selects a different rule or branch (L-BFGS, which needs a
// closure, and Muon, which takes 2-D parameters only, are tested in test_zoo_*.cpp).
inline std::vector<Config> all_configs() {
  return {
      {"sgd", "sgd", {{"lr", 0.05}}},
      {"sgd_wd_maximize", "sgd", {{"lr", 0.05}, {"weight_decay", 0.01}, {"maximize", true}}},
      {"sgd_momentum", "sgd", {{"lr", 0.05}, {"momentum", 0.9}, {"dampening", 0.1}}},
      {"sgd_nesterov", "sgd", {{"lr", 0.05}, {"momentum", 0.9}, {"nesterov", true}, {"weight_decay", 0.01}}},
      {"adam", "adam", {{"lr", 0.01}}},
      {"adam_l2_amsgrad", "adam", {{"lr", 0.01}, {"weight_decay", 0.01}, {"amsgrad", true}}},
      {"adam_decoupled", "adam", {{"lr", 0.01}, {"weight_decay", 0.1}, {"decoupled_weight_decay", true}}},
      {"adamw", "adamw", {{"lr", 0.01}}},
      {"adamw_amsgrad_maximize", "adamw", {{"lr", 0.01}, {"amsgrad", true}, {"maximize", true}}},
      {"adamax", "adamax", {{"lr", 0.01}, {"weight_decay", 0.01}}},
      {"nadam", "nadam", {{"lr", 0.01}, {"weight_decay", 0.01}}},
      {"nadam_decoupled", "nadam", {{"lr", 0.01}, {"weight_decay", 0.1}, {"decoupled_weight_decay", true}}},
      {"radam", "radam", {{"lr", 0.01}, {"weight_decay", 0.01}}},
      {"radam_decoupled", "radam", {{"lr", 0.01}, {"weight_decay", 0.1}, {"decoupled_weight_decay", true}}},
      {"adagrad", "adagrad", {{"lr", 0.05}, {"lr_decay", 0.01}, {"initial_accumulator_value", 0.1}}},
      {"adadelta", "adadelta", {{"lr", 1.0}, {"weight_decay", 0.01}}},
      {"rmsprop", "rmsprop", {{"lr", 0.01}}},
      {"rmsprop_centered", "rmsprop", {{"lr", 0.01}, {"centered", true}}},
      {"rmsprop_momentum", "rmsprop", {{"lr", 0.01}, {"momentum", 0.9}, {"weight_decay", 0.01}}},
      {"rmsprop_centered_momentum", "rmsprop", {{"lr", 0.01}, {"momentum", 0.9}, {"centered", true}}},
      {"rprop", "rprop", {{"lr", 0.01}}},
      {"asgd", "asgd", {{"lr", 0.05}, {"t0", 2.0}, {"weight_decay", 0.01}}},
      {"lion", "lion", {{"lr", 0.01}, {"weight_decay", 0.1}}},
      {"lamb", "lamb", {{"lr", 0.01}, {"weight_decay", 0.01}}},
      {"lars_nesterov", "lars", {{"lr", 0.5}, {"weight_decay", 0.01}, {"nesterov", true}}},
      {"adabelief", "adabelief", {{"lr", 0.01}}},
      {"adabelief_nesterov", "adabelief", {{"lr", 0.01}, {"nesterov", true}}},
      {"yogi", "yogi", {{"lr", 0.01}}},
      {"novograd", "novograd", {{"lr", 0.01}, {"weight_decay", 0.01}}},
      {"adan", "adan", {{"lr", 0.01}, {"weight_decay", 0.02}}},
      {"schedule_free_adamw", "schedule_free_adamw", {{"lr", 0.01}, {"warmup_steps", 2}, {"weight_decay", 0.01}}},
      {"adafactor_maximize", "adafactor", {{"lr", 0.01}, {"weight_decay", 0.01}, {"maximize", true}}},
  };
}

inline std::string config_label(const ::testing::TestParamInfo<Config>& info) { return info.param.label; }

// Parameters with odd sizes; the largest spans more than two parallel chunks so the threaded path splits it.
inline std::vector<std::int64_t> odd_sizes() { return {3, 1, 70001, 17, 130003}; }

// Tensors of the given sizes, either separate or as contiguous views into one arena (grads likewise).
struct ParamSet {
  std::vector<Tensor> params;
  Tensor param_arena, grad_arena;
};

inline ParamSet make_params(const std::vector<std::int64_t>& sizes, bool arena, std::uint64_t seed,
                            DType dtype = DType::Float32) {
  Generator gen(seed);
  ParamSet set;
  std::int64_t total = 0;
  for (auto n : sizes) total += n;
  if (arena) {
    set.param_arena = rand(Shape{total}, gen, dtype, -1.0, 1.0);
    set.grad_arena = zeros(Shape{total}, dtype);
  }
  std::int64_t offset = 0;
  for (auto n : sizes) {
    if (arena) {
      Tensor p = as_strided(set.param_arena, Shape{n}, Shape{1}, offset);
      p.set_grad(as_strided(set.grad_arena, Shape{n}, Shape{1}, offset));
      set.params.push_back(p);
    } else {
      Tensor p = rand(Shape{n}, gen, dtype, -1.0, 1.0);
      p.set_grad(zeros(Shape{n}, dtype));
      set.params.push_back(p);
    }
    offset += n;
  }
  return set;
}

// Writes fresh random gradients (same values for the same seed and step) into every parameter's grad.
inline void fill_grads(const std::vector<Tensor>& params, std::uint64_t seed, int step) {
  Generator gen(seed * 1000 + std::uint64_t(step));
  for (const auto& p : params) p.grad().copy_(rand(p.shape(), gen, p.dtype(), -1.0, 1.0));
}

// Copies the values of `from` into fresh tensors shaped like them.
inline std::vector<Tensor> clone_all(const std::vector<Tensor>& from) {
  std::vector<Tensor> out;
  for (const auto& t : from) {
    Tensor c = t.clone();
    if (t.grad().defined()) c.set_grad(t.grad().clone());
    out.push_back(c);
  }
  return out;
}

// "" when equal within `ulps` units in the last place (0: bitwise), else the first difference.
inline std::string compare(const Tensor& got, const Tensor& want, int ulps, const std::string& what) {
  if (got.shape() != want.shape()) return what + ": shapes differ";
  const auto a = got.to_vector<double>(), b = want.to_vector<double>();
  const bool is_float = got.dtype() == DType::Float32;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) continue;
    const double scale = std::max(std::abs(a[i]), std::abs(b[i]));
    const double ulp = is_float ? std::ldexp(1.0, std::ilogb(float(scale)) - 23) : std::ldexp(1.0, std::ilogb(scale) - 52);
    if (std::abs(a[i] - b[i]) <= ulps * ulp) continue;
    std::ostringstream out;
    out.precision(12);
    out << what << "[" << i << "]: got " << a[i] << ", want " << b[i];
    return out.str();
  }
  return "";
}

// Compares parameters and every state tensor of two optimizers.
inline std::string compare_optimizers(const std::vector<Tensor>& params_a, const Optimizer& a,
                                      const std::vector<Tensor>& params_b, const Optimizer& b, int ulps) {
  for (std::size_t i = 0; i < params_a.size(); ++i) {
    auto d = compare(params_a[i], params_b[i], ulps, "param " + std::to_string(i));
    if (!d.empty()) return d;
  }
  const auto sa = a.state_dict(), sb = b.state_dict();
  if (sa.tensors.size() != sb.tensors.size()) return "different numbers of state tensors";
  for (const auto& [key, tensor] : sa.tensors) {
    auto it = sb.tensors.find(key);
    if (it == sb.tensors.end()) return "state " + key + " missing";
    auto d = compare(tensor, it->second, ulps, "state " + key);
    if (!d.empty()) return d;
  }
  if (sa.meta != sb.meta) return "meta differs: " + sa.meta.dump() + " vs " + sb.meta.dump();
  return "";
}

}  // namespace descent::optim::testing
