#pragma once
// Dropout (torch.nn.Dropout): inverted dropout in training mode, the identity in eval mode. The module
// owns its Generator, seeded at construction, so a model's masks are a function of its seeds.
#include <cstdint>
#include <string>

#include "descent/core/rng.hpp"
#include "descent/nn/module.hpp"

namespace descent::nn {

class Dropout : public Module {
 public:
  // p in [0, 1): the probability of zeroing an element.
  explicit Dropout(double p = 0.5, std::uint64_t seed = 0);
  Tensor forward(const Tensor& input) override;
  std::string describe() const override;
  double p() const { return p_; }
  Generator& generator() { return gen_; }

 private:
  double p_;
  std::vector<std::pair<std::string, Generator*>> own_generators() override { return {{"generator", &gen_}}; }
  Generator gen_;
};

}  // namespace descent::nn
