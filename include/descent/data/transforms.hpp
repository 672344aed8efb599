#pragma once
// Feature scaling fitted on the training split and applied unchanged to the others, one-hot encoding, and
// random image augmentation for use as a DataLoader batch transform.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/core/shape.hpp"
#include "descent/core/tensor.hpp"
#include "descent/data/dataset.hpp"

namespace descent::data {

// Which elements of a sample share one statistic.
enum class StatisticsAxis {
  Feature,  // each element of the sample on its own (columns of tabular data, pixels)
  Channel,  // all elements of a channel: dimension 1 of [N, C, ...] inputs
  Global,   // one statistic over everything
};

// y = (x - shift[g]) / scale[g] for each statistic group g. Standardisation uses the mean and the population
// standard deviation; min-max scaling uses the minimum and the range (mapping the training data to
// [0, 1]). A group with zero spread gets scale 1, so constant features map to 0 rather than to NaN.
class Scaler {
 public:
  enum class Kind { Standardize, MinMax };

  static Scaler fit_standardize(const Tensor& train_inputs, StatisticsAxis axis = StatisticsAxis::Feature);
  static Scaler fit_min_max(const Tensor& train_inputs, StatisticsAxis axis = StatisticsAxis::Feature);

  // Applies the fitted statistics to float32 [N, ...sample shape] inputs (the sample shape must match).
  Tensor apply(const Tensor& inputs) const;
  // The inverse map x = y * scale + shift (for example to report regression targets in their own units).
  Tensor invert(const Tensor& outputs) const;
  // The dataset with its inputs scaled (targets shared).
  TensorDataset apply(const TensorDataset& dataset) const;

  nlohmann::json to_json() const;
  static Scaler from_json(const nlohmann::json& json);

  Kind kind() const { return kind_; }
  StatisticsAxis axis() const { return axis_; }
  const Shape& sample_shape() const { return sample_shape_; }
  const std::vector<double>& shift() const { return shift_; }
  const std::vector<double>& scale() const { return scale_; }

 private:
  Tensor map(const Tensor& inputs, bool inverse) const;
  Kind kind_ = Kind::Standardize;
  StatisticsAxis axis_ = StatisticsAxis::Feature;
  Shape sample_shape_;
  std::vector<double> shift_;
  std::vector<double> scale_;
};

// nlohmann::json conversions, so `nlohmann::json j = scaler;` and `j.get<Scaler>()` work.
inline void to_json(nlohmann::json& json, const Scaler& scaler) { json = scaler.to_json(); }
inline void from_json(const nlohmann::json& json, Scaler& scaler) { scaler = Scaler::from_json(json); }

// float32 [N, num_classes] with a 1 at each int64 label of `labels` [N]. Throws for a label outside
// [0, num_classes).
Tensor one_hot(const Tensor& labels, std::int64_t num_classes);

// Random crop with zero padding (pad each side by `crop_padding`, cut back to the original size at a
// uniformly drawn offset) and a horizontal flip with probability 1/2, drawn per image. Call it as a
// DataLoader transform: the loader hands it a generator derived from (seed, epoch, batch index), so the
// augmentation of every epoch is reproducible, with or without prefetch and on resume.
class ImageAugmentation {
 public:
  struct Options {
    std::int64_t crop_padding = 4;  // 0 disables cropping
    bool horizontal_flip = true;
  };
  ImageAugmentation() : ImageAugmentation(Options{}) {}
  explicit ImageAugmentation(Options options);

  // Augments float32 images [B, C, H, W] and returns the new tensor.
  Tensor apply(const Tensor& images, Generator& gen) const;
  void operator()(Batch& batch, Generator& gen) const { batch.inputs = apply(batch.inputs, gen); }

 private:
  Options options_;
};

}  // namespace descent::data
