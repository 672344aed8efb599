#include "descent/data/mnist.hpp"

#include <cstdlib>

#include "descent/core/error.hpp"
#include "descent/data/idx.hpp"

namespace descent::data {

namespace {
// `dir/name.gz` when present, else `dir/name`.
std::filesystem::path find_with_optional_gz(const std::filesystem::path& dir, const std::string& name) {
  std::error_code ec;
  auto gz = dir / (name + ".gz");
  if (std::filesystem::exists(gz, ec)) return gz;
  auto plain = dir / name;
  DESCENT_CHECK(std::filesystem::exists(plain, ec), "MNIST folder '", dir.string(), "': neither ", name,
                ".gz nor ", name, " exists");
  return plain;
}
}  // namespace

TensorDataset load_mnist(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
                         const MnistOptions& options) {
  const IdxArray images = read_idx(images_file);
  DESCENT_CHECK(images.type == IdxType::UInt8 && images.dims.size() == 3, "MNIST images '",
                images_file.string(), "': ", idx_type_name(images.type), " with ", images.dims.size(),
                " dimensions; expected ubyte [count, rows, columns]");
  const IdxArray labels = read_idx(labels_file);
  DESCENT_CHECK(labels.type == IdxType::UInt8 && labels.dims.size() == 1, "MNIST labels '",
                labels_file.string(), "': ", idx_type_name(labels.type), " with ", labels.dims.size(),
                " dimensions; expected ubyte [count]");
  DESCENT_CHECK(images.dims[0] == labels.dims[0], "MNIST: '", images_file.string(), "' holds ", images.dims[0],
                " images but '", labels_file.string(), "' holds ", labels.dims[0],
                " labels; expected the same count");

  const std::int64_t count = images.dims[0], rows = images.dims[1], cols = images.dims[2];
  Tensor pixels = empty(options.flatten ? Shape{count, rows * cols} : Shape{count, 1, rows, cols});
  float* out = pixels.data<float>();
  const std::uint8_t* in = images.bytes.data();
  const std::int64_t n = count * rows * cols;
  for (std::int64_t i = 0; i < n; ++i) out[i] = float(in[i]) * (1.0f / 255.0f);

  Tensor targets = empty(Shape{count}, DType::Int64);
  auto* target = targets.data<std::int64_t>();
  for (std::int64_t i = 0; i < count; ++i) {
    target[i] = labels.bytes[std::size_t(i)];
    // MNIST and Fashion-MNIST have ten classes; a larger label is a damaged or foreign file, and would
    // silently widen the model's head.
    DESCENT_CHECK(target[i] <= 9, "MNIST labels '", labels_file.string(), "': label ", target[i], " at index ", i,
                  "; expected 0 to 9");
  }
  return TensorDataset(std::move(pixels), std::move(targets));
}

MnistSplits load_mnist_dir(const std::filesystem::path& dir, const MnistOptions& options) {
  // Resolved one after another so that a missing file is reported in a fixed order.
  const auto train_images = find_with_optional_gz(dir, "train-images-idx3-ubyte");
  const auto train_labels = find_with_optional_gz(dir, "train-labels-idx1-ubyte");
  const auto test_images = find_with_optional_gz(dir, "t10k-images-idx3-ubyte");
  const auto test_labels = find_with_optional_gz(dir, "t10k-labels-idx1-ubyte");
  TensorDataset train = load_mnist(train_images, train_labels, options);
  TensorDataset test = load_mnist(test_images, test_labels, options);
  return MnistSplits{std::move(train), std::move(test)};
}

std::filesystem::path fashion_mnist_dir() {
  if (const char* env = std::getenv("DESCENT_FASHION_MNIST"); env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

}  // namespace descent::data
