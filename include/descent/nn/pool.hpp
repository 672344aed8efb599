#pragma once
// Pooling layers (torch.nn.MaxPool2d, torch.nn.AvgPool2d); no parameters.
#include <optional>
#include <string>

#include "descent/autograd/functional.hpp"
#include "descent/nn/module.hpp"

namespace descent::nn {

// stride defaults to kernel_size.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2d kernel_size, std::optional<Size2d> stride = std::nullopt, Size2d padding = 0,
                     Size2d dilation = 1, bool ceil_mode = false);
  Tensor forward(const Tensor& input) override;
  std::string describe() const override;

 private:
  Size2d kernel_size_, stride_, padding_, dilation_;
  bool ceil_mode_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2d kernel_size, std::optional<Size2d> stride = std::nullopt, Size2d padding = 0,
                     bool ceil_mode = false, bool count_include_pad = true);
  Tensor forward(const Tensor& input) override;
  std::string describe() const override;

 private:
  Size2d kernel_size_, stride_, padding_;
  bool ceil_mode_, count_include_pad_;
};

}  // namespace descent::nn
