#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "descent/data/idx.hpp"
#include "descent/data/mnist.hpp"
#include "temp_dir.hpp"

using namespace descent;
using namespace descent::data;
using descent::data::testing::error_message;
using descent::data::testing::TempDir;
using ::testing::HasSubstr;

namespace {
IdxArray ubyte_array(std::vector<std::int64_t> dims, std::uint8_t fill_step) {
  IdxArray array;
  array.type = IdxType::UInt8;
  array.dims = std::move(dims);
  array.bytes.resize(std::size_t(array.numel()));
  for (std::size_t i = 0; i < array.bytes.size(); ++i) array.bytes[i] = std::uint8_t(i * fill_step);
  return array;
}

void expect_fashion_split(const TensorDataset& split, std::int64_t count) {
  EXPECT_EQ(split.size(), count);
  EXPECT_EQ(split.inputs().shape(), (Shape{count, 1, 28, 28}));
  EXPECT_EQ(split.targets().shape(), (Shape{count}));
  const auto labels = split.targets().to_vector<std::int64_t>();
  std::vector<std::int64_t> per_class(10, 0);
  for (auto label : labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ++per_class[std::size_t(label)];
  }
  // Fashion-MNIST is balanced: every class holds a tenth of each split.
  for (auto n : per_class) EXPECT_EQ(n, count / 10);
  const float* pixels = split.inputs().data<float>();
  const auto [low, high] = std::minmax_element(pixels, pixels + split.inputs().numel());
  EXPECT_EQ(*low, 0.0f);
  EXPECT_EQ(*high, 1.0f);
}
}  // namespace

TEST(Mnist, LoadsRealFashionMnist) {
  const auto dir = fashion_mnist_dir();
  if (!std::filesystem::exists(dir / "train-images-idx3-ubyte.gz")) GTEST_SKIP() << "no Fashion-MNIST in " << dir;
  const MnistSplits splits = load_mnist_dir(dir);
  expect_fashion_split(splits.train, 60000);
  expect_fashion_split(splits.test, 10000);
  EXPECT_EQ(splits.train.num_classes(), 10);
  // The first training image is an ankle boot (label 9) in every copy of Fashion-MNIST.
  EXPECT_EQ(splits.train.targets().to_vector<std::int64_t>()[0], 9);
}

TEST(Mnist, FlattenGivesRowsOf784) {
  const auto dir = fashion_mnist_dir();
  if (!std::filesystem::exists(dir / "t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "no Fashion-MNIST in " << dir;
  const auto test = load_mnist(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz",
                               MnistOptions{.flatten = true});
  EXPECT_EQ(test.inputs().shape(), (Shape{10000, 784}));
}

TEST(Mnist, UserCopyInPlainOrGzipFiles) {
  TempDir dir;
  write_idx(dir.file("train-images-idx3-ubyte"), ubyte_array({3, 2, 2}, 17), false);
  write_idx(dir.file("train-labels-idx1-ubyte.gz"), ubyte_array({3}, 1), true);
  write_idx(dir.file("t10k-images-idx3-ubyte.gz"), ubyte_array({1, 2, 2}, 85), true);
  write_idx(dir.file("t10k-labels-idx1-ubyte"), ubyte_array({1}, 0), false);
  const auto splits = load_mnist_dir(dir.path());
  EXPECT_EQ(splits.train.inputs().shape(), (Shape{3, 1, 2, 2}));
  EXPECT_EQ(splits.train.targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(splits.test.inputs().to_vector<float>(),
            (std::vector<float>{0.0f, 85.0f / 255.0f, 170.0f / 255.0f, 1.0f}));
}

TEST(MnistErrors, LabelCountDiffersFromImageCount) {
  TempDir dir;
  write_idx(dir.file("images"), ubyte_array({4, 2, 2}, 1), false);
  write_idx(dir.file("labels"), ubyte_array({3}, 1), false);
  const auto message = error_message([&] { load_mnist(dir.file("images"), dir.file("labels")); });
  EXPECT_THAT(message, HasSubstr(dir.file("images").string()));
  EXPECT_THAT(message, HasSubstr(dir.file("labels").string()));
  EXPECT_THAT(message, HasSubstr("holds 4 images"));
  EXPECT_THAT(message, HasSubstr("holds 3 labels; expected the same count"));
}

TEST(MnistErrors, LabelsAboveNineAreRefused) {
  TempDir dir;
  write_idx(dir.file("images"), ubyte_array({12, 2, 2}, 1), false);
  write_idx(dir.file("labels"), ubyte_array({12}, 1), false);  // labels 0..11
  const auto message = error_message([&] { load_mnist(dir.file("images"), dir.file("labels")); });
  EXPECT_THAT(message, HasSubstr(dir.file("labels").string() + "': label 10 at index 10; expected 0 to 9"));
}

TEST(MnistErrors, WrongRankOrType) {
  TempDir dir;
  write_idx(dir.file("flat"), ubyte_array({4, 4}, 1), false);
  write_idx(dir.file("labels"), ubyte_array({4}, 1), false);
  EXPECT_THAT(error_message([&] { load_mnist(dir.file("flat"), dir.file("labels")); }),
              HasSubstr("ubyte with 2 dimensions; expected ubyte [count, rows, columns]"));
  EXPECT_THAT(error_message([&] { load_mnist_dir(dir.path()); }),
              HasSubstr("neither train-images-idx3-ubyte.gz nor train-images-idx3-ubyte exists"));
}
