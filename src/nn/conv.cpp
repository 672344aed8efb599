#include "descent/nn/conv.hpp"

#include <cmath>
#include <sstream>

#include "descent/nn/init.hpp"

namespace descent::nn {

namespace {
// Written through a stream: GCC 12 reports a false -Wrestrict on chained std::string concatenation.
std::string pair_text(Size2d s) {
  std::ostringstream out;
  out << '(' << s.h << ", " << s.w << ')';
  return out.str();
}
}  // namespace

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size, Generator& gen, Size2d stride,
               Size2d padding, Size2d dilation, std::int64_t groups, bool bias, DType dtype)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      stride_(stride),
      padding_(padding),
      dilation_(dilation),
      groups_(groups) {
  DESCENT_CHECK(in_channels > 0 && out_channels > 0, "Conv2d: in_channels and out_channels must be positive, got ",
                in_channels, " and ", out_channels);
  DESCENT_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0, "Conv2d: groups=", groups,
                " must be positive and divide in_channels=", in_channels, " and out_channels=", out_channels);
  DESCENT_CHECK(kernel_size.h > 0 && kernel_size.w > 0, "Conv2d: kernel_size must be positive, got ",
                pair_text(kernel_size));
  DESCENT_CHECK(stride.h > 0 && stride.w > 0, "Conv2d: stride must be positive, got ", pair_text(stride));
  DESCENT_CHECK(padding.h >= 0 && padding.w >= 0, "Conv2d: padding must be non-negative, got ", pair_text(padding));
  DESCENT_CHECK(dilation.h > 0 && dilation.w > 0, "Conv2d: dilation must be positive, got ", pair_text(dilation));
  DESCENT_CHECK(is_floating(dtype), "Conv2d: dtype must be float32 or float64, got ", dtype_name(dtype));
  Tensor w = empty(Shape{out_channels, in_channels / groups, kernel_size.h, kernel_size.w}, dtype);
  init::kaiming_uniform_(w, gen, std::sqrt(5.0));
  weight_ = register_parameter("weight", w);
  if (bias) {
    const double fan_in = double(in_channels / groups * kernel_size.h * kernel_size.w);
    const double bound = 1.0 / std::sqrt(fan_in);
    Tensor b = empty(Shape{out_channels}, dtype);
    init::uniform_(b, gen, -bound, bound);
    bias_ = register_parameter("bias", b);
  }
}

Tensor Conv2d::forward(const Tensor& input) {
  return conv2d(input, weight_, bias_, stride_, padding_, dilation_, groups_);
}

std::string Conv2d::describe() const {
  std::ostringstream out;
  out << "Conv2d(in_channels=" << in_channels_ << ", out_channels=" << out_channels_
      << ", kernel_size=" << pair_text(kernel_size_) << ", stride=" << pair_text(stride_)
      << ", padding=" << pair_text(padding_) << ", dilation=" << pair_text(dilation_) << ", groups=" << groups_
      << ", bias=" << (bias_.defined() ? "true" : "false") << ")";
  return out.str();
}

}  // namespace descent::nn
