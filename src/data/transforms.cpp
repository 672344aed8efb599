#include "descent/data/transforms.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "descent/core/error.hpp"

namespace descent::data {

namespace {

const char* axis_name(StatisticsAxis axis) {
  switch (axis) {
    case StatisticsAxis::Feature: return "feature";
    case StatisticsAxis::Channel: return "channel";
    case StatisticsAxis::Global: return "global";
  }
  return "?";
}

StatisticsAxis parse_axis(const std::string& name) {
  if (name == "feature") return StatisticsAxis::Feature;
  if (name == "channel") return StatisticsAxis::Channel;
  if (name == "global") return StatisticsAxis::Global;
  throw Error("Scaler JSON: axis '" + name + "'; expected 'feature', 'channel' or 'global'");
}

const char* kind_name(Scaler::Kind kind) { return kind == Scaler::Kind::Standardize ? "standardize" : "min_max"; }

Shape sample_shape_of(const Tensor& inputs) {
  Shape shape = inputs.shape();
  shape.erase(0);
  return shape;
}

// The statistic group of each element of one sample.
std::vector<std::size_t> group_of_elements(const Shape& sample, StatisticsAxis axis, std::size_t& groups) {
  const auto row = std::size_t(sample.numel());
  std::vector<std::size_t> group(row, 0);
  switch (axis) {
    case StatisticsAxis::Feature:
      groups = row;
      for (std::size_t j = 0; j < row; ++j) group[j] = j;
      break;
    case StatisticsAxis::Channel: {
      DESCENT_CHECK(sample.size() >= 1, "Scaler: channel statistics need inputs [N, C, ...], got samples of shape ",
                    sample);
      groups = std::size_t(sample[0]);
      const std::size_t per_channel = groups == 0 ? 0 : row / groups;
      for (std::size_t j = 0; j < row; ++j) group[j] = j / per_channel;
      break;
    }
    case StatisticsAxis::Global: groups = 1; break;
  }
  return group;
}

void check_inputs(const Tensor& inputs, const char* op) {
  DESCENT_CHECK(inputs.defined() && inputs.dtype() == DType::Float32 && inputs.dim() >= 2, op,
                ": expected float32 inputs [N, ...], got ", inputs.defined() ? dtype_name(inputs.dtype()) : "none",
                " ", inputs.defined() ? inputs.shape().to_string() : "");
}

}  // namespace

Scaler Scaler::fit_standardize(const Tensor& train_inputs, StatisticsAxis axis) {
  check_inputs(train_inputs, "Scaler::fit_standardize");
  const Tensor x = train_inputs.contiguous_copy();
  DESCENT_CHECK(x.size(0) > 0, "Scaler::fit_standardize: no samples to fit on");
  Scaler scaler;
  scaler.kind_ = Kind::Standardize;
  scaler.axis_ = axis;
  scaler.sample_shape_ = sample_shape_of(x);
  std::size_t groups = 0;
  const auto group = group_of_elements(scaler.sample_shape_, axis, groups);
  const std::size_t row = group.size();
  const auto n = std::size_t(x.size(0));
  const float* data = x.data<float>();
  // Two passes in double: the mean first, then squared deviations (no cancellation of sum-of-squares).
  std::vector<double> sum(groups, 0.0), count(groups, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < row; ++j) sum[group[j]] += data[i * row + j];
  for (std::size_t j = 0; j < row; ++j) count[group[j]] += double(n);
  std::vector<double> mean(groups);
  for (std::size_t g = 0; g < groups; ++g) mean[g] = sum[g] / count[g];
  std::vector<double> squares(groups, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < row; ++j) {
      const double d = data[i * row + j] - mean[group[j]];
      squares[group[j]] += d * d;
    }
  scaler.shift_ = mean;
  scaler.scale_.resize(groups);
  for (std::size_t g = 0; g < groups; ++g) {
    const double std_dev = std::sqrt(squares[g] / count[g]);
    scaler.scale_[g] = std_dev > 0 ? std_dev : 1.0;
  }
  return scaler;
}

Scaler Scaler::fit_min_max(const Tensor& train_inputs, StatisticsAxis axis) {
  check_inputs(train_inputs, "Scaler::fit_min_max");
  const Tensor x = train_inputs.contiguous_copy();
  DESCENT_CHECK(x.size(0) > 0, "Scaler::fit_min_max: no samples to fit on");
  Scaler scaler;
  scaler.kind_ = Kind::MinMax;
  scaler.axis_ = axis;
  scaler.sample_shape_ = sample_shape_of(x);
  std::size_t groups = 0;
  const auto group = group_of_elements(scaler.sample_shape_, axis, groups);
  const std::size_t row = group.size();
  const auto n = std::size_t(x.size(0));
  const float* data = x.data<float>();
  std::vector<double> low(groups, std::numeric_limits<double>::infinity());
  std::vector<double> high(groups, -std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < row; ++j) {
      const double v = data[i * row + j];
      low[group[j]] = std::min(low[group[j]], v);
      high[group[j]] = std::max(high[group[j]], v);
    }
  scaler.shift_ = low;
  scaler.scale_.resize(groups);
  for (std::size_t g = 0; g < groups; ++g) scaler.scale_[g] = high[g] > low[g] ? high[g] - low[g] : 1.0;
  return scaler;
}

Tensor Scaler::map(const Tensor& inputs, bool inverse) const {
  check_inputs(inputs, "Scaler::apply");
  DESCENT_CHECK(!shift_.empty(), "Scaler::apply: the scaler was not fitted");
  DESCENT_CHECK(sample_shape_of(inputs) == sample_shape_, "Scaler::apply: samples of shape ", sample_shape_of(inputs),
                "; the scaler was fitted on samples of shape ", sample_shape_);
  std::size_t groups = 0;
  const auto group = group_of_elements(sample_shape_, axis_, groups);
  const std::size_t row = group.size();
  // Per-element float factors for one row, so the loop over samples is a subtract and a multiply.
  std::vector<float> multiplier(row), shift(row);
  for (std::size_t j = 0; j < row; ++j) {
    multiplier[j] = float(inverse ? scale_[group[j]] : 1.0 / scale_[group[j]]);
    shift[j] = float(shift_[group[j]]);
  }
  const Tensor x = inputs.contiguous_copy();
  Tensor out = empty(x.shape());
  const float* in = x.data<float>();
  float* dst = out.data<float>();
  const auto n = std::size_t(x.size(0));
  for (std::size_t i = 0; i < n; ++i) {
    const float* in_row = in + i * row;
    float* out_row = dst + i * row;
    if (inverse) {
      for (std::size_t j = 0; j < row; ++j) out_row[j] = in_row[j] * multiplier[j] + shift[j];
    } else {
      for (std::size_t j = 0; j < row; ++j) out_row[j] = (in_row[j] - shift[j]) * multiplier[j];
    }
  }
  return out;
}

Tensor Scaler::apply(const Tensor& inputs) const { return map(inputs, false); }
Tensor Scaler::invert(const Tensor& outputs) const { return map(outputs, true); }

TensorDataset Scaler::apply(const TensorDataset& dataset) const {
  return TensorDataset(apply(dataset.inputs()), dataset.targets());
}

nlohmann::json Scaler::to_json() const {
  return {{"kind", kind_name(kind_)},
          {"axis", axis_name(axis_)},
          {"sample_shape", sample_shape_.to_vector()},
          {"shift", shift_},
          {"scale", scale_}};
}

Scaler Scaler::from_json(const nlohmann::json& json) {
  DESCENT_CHECK(json.is_object(), "Scaler JSON: expected an object, got ", json.type_name());
  for (const char* key : {"kind", "axis", "sample_shape", "shift", "scale"})
    DESCENT_CHECK(json.contains(key), "Scaler JSON: missing key '", key, "'");
  Scaler scaler;
  try {
    const auto kind = json.at("kind").get<std::string>();
    DESCENT_CHECK(kind == "standardize" || kind == "min_max", "Scaler JSON: kind '", kind,
                  "'; expected 'standardize' or 'min_max'");
    scaler.kind_ = kind == "standardize" ? Kind::Standardize : Kind::MinMax;
    scaler.axis_ = parse_axis(json.at("axis").get<std::string>());
    scaler.sample_shape_ = Shape(json.at("sample_shape").get<std::vector<std::int64_t>>());
    scaler.shift_ = json.at("shift").get<std::vector<double>>();
    scaler.scale_ = json.at("scale").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("Scaler JSON: ") + e.what());
  }
  std::size_t groups = 0;
  group_of_elements(scaler.sample_shape_, scaler.axis_, groups);
  DESCENT_CHECK(scaler.shift_.size() == groups && scaler.scale_.size() == groups, "Scaler JSON: ",
                scaler.shift_.size(), " shifts and ", scaler.scale_.size(), " scales; expected ", groups, " for ",
                axis_name(scaler.axis_), " statistics of samples ", scaler.sample_shape_);
  for (double s : scaler.scale_)
    DESCENT_CHECK(s > 0 && std::isfinite(s), "Scaler JSON: scale ", s, "; expected a finite value > 0");
  return scaler;
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes) {
  DESCENT_CHECK(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1,
                "one_hot: expected int64 labels [N], got ", labels.defined() ? dtype_name(labels.dtype()) : "none");
  DESCENT_CHECK(num_classes > 0, "one_hot: num_classes = ", num_classes, "; expected > 0");
  const auto values = labels.to_vector<std::int64_t>();
  Tensor out = zeros(Shape{std::int64_t(values.size()), num_classes});
  float* dst = out.data<float>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    DESCENT_CHECK(values[i] >= 0 && values[i] < num_classes, "one_hot: label ", values[i], " at position ", i,
                  " outside [0, ", num_classes, ")");
    dst[i * std::size_t(num_classes) + std::size_t(values[i])] = 1.0f;
  }
  return out;
}

ImageAugmentation::ImageAugmentation(Options options) : options_(options) {
  DESCENT_CHECK(options.crop_padding >= 0, "ImageAugmentation: crop_padding = ", options.crop_padding,
                "; expected >= 0");
}

Tensor ImageAugmentation::apply(const Tensor& images, Generator& gen) const {
  DESCENT_CHECK(images.defined() && images.dtype() == DType::Float32 && images.dim() == 4,
                "ImageAugmentation: expected float32 images [B, C, H, W], got ",
                images.defined() ? images.shape().to_string() : "none",
                " (use images, not flattened inputs)");
  const Tensor x = images.contiguous_copy();
  const std::int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const std::int64_t pad = options_.crop_padding;
  Tensor out = empty(x.shape());
  const float* in = x.data<float>();
  float* dst = out.data<float>();
  for (std::int64_t b = 0; b < batch; ++b) {
    // Draw order per image is fixed (crop row, crop column, flip) so a seed gives the same augmentation.
    const std::int64_t dy = pad > 0 ? std::int64_t(gen.below(std::uint64_t(2 * pad + 1))) - pad : 0;
    const std::int64_t dx = pad > 0 ? std::int64_t(gen.below(std::uint64_t(2 * pad + 1))) - pad : 0;
    const bool flip = options_.horizontal_flip && (gen.next_u64() >> 63) != 0;
    for (std::int64_t c = 0; c < channels; ++c) {
      const float* plane = in + (b * channels + c) * height * width;
      float* out_plane = dst + (b * channels + c) * height * width;
      for (std::int64_t y = 0; y < height; ++y) {
        const std::int64_t sy = y + dy;
        float* out_row = out_plane + y * width;
        if (sy < 0 || sy >= height) {
          std::fill(out_row, out_row + width, 0.0f);
          continue;
        }
        const float* in_row = plane + sy * width;
        for (std::int64_t xo = 0; xo < width; ++xo) {
          // The output column xo shows the cropped column xc; flipping mirrors the crop.
          const std::int64_t xc = flip ? width - 1 - xo : xo;
          const std::int64_t sx = xc + dx;
          out_row[xo] = (sx < 0 || sx >= width) ? 0.0f : in_row[sx];
        }
      }
    }
  }
  return out;
}

}  // namespace descent::data
