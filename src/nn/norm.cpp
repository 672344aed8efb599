#include "descent/nn/norm.hpp"

#include <sstream>

#include "descent/autograd/functional.hpp"

namespace descent::nn {

BatchNorm::BatchNorm(const char* name, std::int64_t num_features, double eps, std::optional<double> momentum,
                     bool affine, bool track_running_stats, DType dtype)
    : name_(name),
      num_features_(num_features),
      eps_(eps),
      momentum_(momentum),
      affine_(affine),
      track_running_stats_(track_running_stats) {
  DESCENT_CHECK(num_features > 0, name, ": num_features must be positive, got ", num_features);
  DESCENT_CHECK(eps >= 0.0, name, ": eps must be non-negative, got ", eps);
  DESCENT_CHECK(!momentum || (*momentum >= 0.0 && *momentum <= 1.0), name, ": momentum must lie in [0, 1], got ",
                momentum.value_or(0.0));
  DESCENT_CHECK(is_floating(dtype), name, ": dtype must be float32 or float64, got ", dtype_name(dtype));
  if (affine) {
    weight_ = register_parameter("weight", ones(Shape{num_features}, dtype));
    bias_ = register_parameter("bias", zeros(Shape{num_features}, dtype));
  }
  if (track_running_stats) {
    running_mean_ = register_buffer("running_mean", zeros(Shape{num_features}, dtype));
    running_var_ = register_buffer("running_var", ones(Shape{num_features}, dtype));
    num_batches_tracked_ = register_buffer("num_batches_tracked", zeros(Shape{}, DType::Int64));
  }
}

std::int64_t BatchNorm::num_batches_tracked() const {
  return num_batches_tracked_.defined() ? num_batches_tracked_.item<std::int64_t>() : 0;
}

Tensor BatchNorm::forward(const Tensor& input) {
  DESCENT_CHECK(input.defined(), name_, ": input is undefined");
  check_input_dim(input);
  DESCENT_CHECK(input.shape()[1] == num_features_, name_, ": expected ", num_features_,
                " channels (num_features) in dimension 1, got input of shape ", input.shape());
  double factor = momentum_.value_or(0.0);
  if (is_training() && track_running_stats_) {
    std::int64_t* count = num_batches_tracked_.data<std::int64_t>();
    ++*count;
    num_batches_tracked_.mark_modified();
    if (!momentum_) factor = 1.0 / double(*count);  // cumulative moving average
  }
  // Without tracked statistics there is nothing else to normalise with, in either mode.
  const bool use_batch_statistics = is_training() || !track_running_stats_;
  return batch_norm(input, running_mean_, running_var_, weight_, bias_, use_batch_statistics, factor, eps_);
}

std::string BatchNorm::describe() const {
  std::ostringstream out;
  out << name_ << "(num_features=" << num_features_ << ", eps=" << eps_ << ", momentum=";
  if (momentum_) out << *momentum_;
  else out << "None";
  out << ", affine=" << (affine_ ? "true" : "false")
      << ", track_running_stats=" << (track_running_stats_ ? "true" : "false") << ")";
  return out.str();
}

void BatchNorm1d::check_input_dim(const Tensor& input) const {
  DESCENT_CHECK(input.dim() == 2 || input.dim() == 3, "BatchNorm1d: expected 2-D [N, C] or 3-D [N, C, L] input, got ",
                "shape ", input.shape());
}

void BatchNorm2d::check_input_dim(const Tensor& input) const {
  DESCENT_CHECK(input.dim() == 4, "BatchNorm2d: expected 4-D [N, C, H, W] input, got shape ", input.shape());
}

LayerNorm::LayerNorm(std::vector<std::int64_t> normalized_shape, double eps, bool elementwise_affine, bool bias,
                     DType dtype)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps), elementwise_affine_(elementwise_affine) {
  const Shape shape(normalized_shape_);
  DESCENT_CHECK(!normalized_shape_.empty() && shape.numel() > 0, "LayerNorm: normalized_shape must be non-empty with "
                "positive extents, got ", shape);
  DESCENT_CHECK(eps >= 0.0, "LayerNorm: eps must be non-negative, got ", eps);
  DESCENT_CHECK(is_floating(dtype), "LayerNorm: dtype must be float32 or float64, got ", dtype_name(dtype));
  if (elementwise_affine) {
    weight_ = register_parameter("weight", ones(shape, dtype));
    if (bias) bias_ = register_parameter("bias", zeros(shape, dtype));
  }
}

Tensor LayerNorm::forward(const Tensor& input) { return layer_norm(input, normalized_shape_, weight_, bias_, eps_); }

std::string LayerNorm::describe() const {
  std::ostringstream out;
  out << "LayerNorm(normalized_shape=" << Shape(normalized_shape_) << ", eps=" << eps_
      << ", elementwise_affine=" << (elementwise_affine_ ? "true" : "false")
      << ", bias=" << (bias_.defined() ? "true" : "false") << ")";
  return out.str();
}

}  // namespace descent::nn
