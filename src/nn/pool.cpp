#include "descent/nn/pool.hpp"

#include <sstream>

namespace descent::nn {

namespace {
// Written through a stream: GCC 12 reports a false -Wrestrict on chained std::string concatenation.
std::string pair_text(Size2d s) {
  std::ostringstream out;
  out << '(' << s.h << ", " << s.w << ')';
  return out.str();
}
const char* flag(bool b) { return b ? "true" : "false"; }

// Validates the window at construction rather than at the first forward.
void check_window(const char* layer, Size2d kernel, Size2d stride, Size2d padding, Size2d dilation) {
  DESCENT_CHECK(kernel.h > 0 && kernel.w > 0, layer, ": kernel_size must be positive, got ", pair_text(kernel));
  DESCENT_CHECK(stride.h > 0 && stride.w > 0, layer, ": stride must be positive, got ", pair_text(stride));
  DESCENT_CHECK(dilation.h > 0 && dilation.w > 0, layer, ": dilation must be positive, got ", pair_text(dilation));
  DESCENT_CHECK(padding.h >= 0 && padding.w >= 0 && padding.h <= kernel.h / 2 && padding.w <= kernel.w / 2, layer,
                ": padding ", pair_text(padding), " must be non-negative and at most half of kernel_size ",
                pair_text(kernel));
}
}  // namespace

MaxPool2d::MaxPool2d(Size2d kernel_size, std::optional<Size2d> stride, Size2d padding, Size2d dilation,
                     bool ceil_mode)
    : kernel_size_(kernel_size),
      stride_(stride.value_or(kernel_size)),
      padding_(padding),
      dilation_(dilation),
      ceil_mode_(ceil_mode) {
  check_window("MaxPool2d", kernel_size_, stride_, padding_, dilation_);
}

Tensor MaxPool2d::forward(const Tensor& input) {
  return max_pool2d(input, kernel_size_, stride_, padding_, dilation_, ceil_mode_);
}

std::string MaxPool2d::describe() const {
  return "MaxPool2d(kernel_size=" + pair_text(kernel_size_) + ", stride=" + pair_text(stride_) +
         ", padding=" + pair_text(padding_) + ", dilation=" + pair_text(dilation_) + ", ceil_mode=" + flag(ceil_mode_) +
         ")";
}

AvgPool2d::AvgPool2d(Size2d kernel_size, std::optional<Size2d> stride, Size2d padding, bool ceil_mode,
                     bool count_include_pad)
    : kernel_size_(kernel_size),
      stride_(stride.value_or(kernel_size)),
      padding_(padding),
      ceil_mode_(ceil_mode),
      count_include_pad_(count_include_pad) {
  check_window("AvgPool2d", kernel_size_, stride_, padding_, 1);
}

Tensor AvgPool2d::forward(const Tensor& input) {
  return avg_pool2d(input, kernel_size_, stride_, padding_, ceil_mode_, count_include_pad_);
}

std::string AvgPool2d::describe() const {
  return "AvgPool2d(kernel_size=" + pair_text(kernel_size_) + ", stride=" + pair_text(stride_) +
         ", padding=" + pair_text(padding_) + ", ceil_mode=" + flag(ceil_mode_) +
         ", count_include_pad=" + flag(count_include_pad_) + ")";
}

}  // namespace descent::nn
