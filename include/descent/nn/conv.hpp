#pragma once
// Conv2d: a 2-D convolution layer (torch.nn.Conv2d, padding_mode "zeros").
#include <cstdint>
#include <string>

#include "descent/autograd/functional.hpp"
#include "descent/core/rng.hpp"
#include "descent/nn/module.hpp"

namespace descent::nn {

// Parameters: weight [out_channels, in_channels / groups, kH, kW] and bias [out_channels] (when bias).
// Default initialisation as PyTorch: weight ~ kaiming_uniform(a = sqrt(5)), i.e. U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)) with fan_in = in_channels / groups * kH * kW; bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size, Generator& gen, Size2d stride = 1,
         Size2d padding = 0, Size2d dilation = 1, std::int64_t groups = 1, bool bias = true,
         DType dtype = DType::Float32);
  Tensor forward(const Tensor& input) override;
  std::string describe() const override;
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  std::int64_t in_channels_, out_channels_;
  Size2d kernel_size_, stride_, padding_, dilation_;
  std::int64_t groups_;
  Tensor weight_, bias_;
};

}  // namespace descent::nn
