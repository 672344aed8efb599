// Datasets, splits, scaling and loaders from the [data] section.
#include <numeric>

#include "descent/data/csv.hpp"
#include "descent/data/mnist.hpp"
#include "descent/data/split.hpp"
#include "descent/data/synthetic.hpp"
#include "descent/data/transforms.hpp"
#include "descent/train/builders.hpp"

namespace descent::train {

namespace {

data::ColumnRef column(const std::string& text) {
  char* end = nullptr;
  const long long index = std::strtoll(text.c_str(), &end, 10);
  if (!text.empty() && end == text.c_str() + text.size()) return data::ColumnRef(std::int64_t(index));
  return data::ColumnRef(text);
}

data::TensorDataset first(const data::TensorDataset& set, std::int64_t count) {
  if (count <= 0 || count >= set.size()) return set;
  std::vector<std::int64_t> indices(static_cast<std::size_t>(count));
  std::iota(indices.begin(), indices.end(), 0);
  return set.subset(indices);
}

data::Split split(const data::TensorDataset& set, double fraction, bool stratify, std::uint64_t seed) {
  if (stratify && set.is_classification()) return data::stratified_split(set.targets(), fraction, seed);
  return data::random_split(set.size(), fraction, seed);
}

data::TensorDataset generate(const DataConfig& c, std::uint64_t seed) {
  Generator gen(seed);
  if (c.dataset == "linear_regression") return data::make_linear_regression(gen, c.samples, c.noise);
  if (c.dataset == "quadratic") return data::make_quadratic(gen, c.samples, c.dims, c.noise);
  if (c.dataset == "two_moons") return data::make_two_moons(gen, c.samples, c.noise);
  if (c.dataset == "two_spirals") return data::make_two_spirals(gen, c.samples, c.noise, c.turns);
  data::CsvOptions options;
  options.delimiter = c.delimiter[0];
  options.header = c.header;
  options.target = column(c.target);
  for (const auto& feature : c.features) options.features.push_back(column(feature));
  options.target_kind = c.task == "classification" ? data::TargetKind::Classification : data::TargetKind::Regression;
  return data::read_csv(c.path, options);
}

data::StatisticsAxis axis(const std::string& name) {
  if (name == "channel") return data::StatisticsAxis::Channel;
  if (name == "global") return data::StatisticsAxis::Global;
  return data::StatisticsAxis::Feature;
}

}  // namespace

DataSplits build_datasets(const DataConfig& c, std::uint64_t seed) try {
  data::TensorDataset train_all(zeros(Shape{1, 1}), zeros(Shape{1, 1}));
  data::TensorDataset test(zeros(Shape{1, 1}), zeros(Shape{1, 1}));
  if (c.dataset == "fashion_mnist") {
    const auto dir = c.path.empty() ? data::fashion_mnist_dir() : std::filesystem::path(c.path);
    DESCENT_CHECK(std::filesystem::exists(dir), "data.dataset = fashion_mnist: no data at ", dir.string(),
                  " (install Debian's dataset-fashion-mnist, or set data.path)");
    auto loaded = data::load_mnist_dir(dir);
    train_all = first(loaded.train, c.train_subset);
    test = first(loaded.test, c.test_subset);
  } else {
    const auto all = generate(c, seed);
    const auto held_out = split(all, c.test_fraction, c.stratify, seed ^ 0x7e57ull);
    train_all = all.subset(held_out.train);
    test = all.subset(held_out.validation);
  }
  const auto validation_split = split(train_all, c.validation_fraction, c.stratify, seed ^ 0x7a1dull);
  data::TensorDataset train = train_all.subset(validation_split.train);
  data::TensorDataset validation = train_all.subset(validation_split.validation);
  DESCENT_CHECK(train.size() > 0 && validation.size() > 0 && test.size() > 0, "data: the splits of ", c.dataset,
                " are empty (train ", train.size(), ", validation ", validation.size(), ", test ", test.size(),
                "); use more samples or other fractions");
  if (c.scale != "none") {
    const auto scaler = c.scale == "standardize" ? data::Scaler::fit_standardize(train.inputs(), axis(c.scale_axis))
                                                 : data::Scaler::fit_min_max(train.inputs(), axis(c.scale_axis));
    train = scaler.apply(train);
    validation = scaler.apply(validation);
    test = scaler.apply(test);
  }
  DataSplits out;
  out.classification = train.is_classification();
  out.num_outputs = out.classification ? std::max({train.num_classes(), validation.num_classes(), test.num_classes()})
                                       : train.targets().size(1);
  out.sample_shape = train.sample_shape();
  out.train = std::make_shared<data::TensorDataset>(train);
  out.validation = std::make_shared<data::TensorDataset>(validation);
  out.test = std::make_shared<data::TensorDataset>(test);
  return out;
} catch (const std::bad_alloc&) {
  throw Error("data: the " + c.dataset + " dataset does not fit in memory" +
              (c.dataset == "csv" || c.dataset == "fashion_mnist" ? std::string(" (") + c.path + ")"
                                                                  : " (data.samples = " + std::to_string(c.samples) + ")"));
}

data::DataLoader make_train_loader(const DataSplits& splits, const DataConfig& c, std::uint64_t seed) {
  data::DataLoaderOptions options{.batch_size = c.batch_size, .shuffle = c.shuffle, .seed = seed,
                                  .drop_last = c.drop_last, .prefetch = c.prefetch};
  if (c.augment) {
    DESCENT_CHECK(splits.sample_shape.size() == 3, "data.transforms.augment: needs image samples [C, H, W], got ",
                  splits.sample_shape);
    data::ImageAugmentation augmentation({.crop_padding = c.crop_padding, .horizontal_flip = c.horizontal_flip});
    options.transform = [augmentation](data::Batch& batch, Generator& gen) { augmentation(batch, gen); };
  }
  return data::DataLoader(std::shared_ptr<const data::Dataset>(splits.train), options);
}

data::DataLoader make_eval_loader(const std::shared_ptr<data::TensorDataset>& dataset, const DataConfig& c) {
  return data::DataLoader(std::shared_ptr<const data::Dataset>(dataset),
                          {.batch_size = c.eval_batch_size, .shuffle = false, .seed = 0, .prefetch = 0});
}

}  // namespace descent::train
