#pragma once
// MNIST-format datasets (MNIST, Fashion-MNIST, KMNIST): a rank-3 ubyte IDX image file and a rank-1 ubyte
// IDX label file of the same count. Pixels become float32 in [0, 1] (divided by 255).
#include <filesystem>

#include "descent/data/dataset.hpp"

namespace descent::data {

struct MnistOptions {
  bool flatten = false;  // images as [N, H*W] instead of [N, 1, H, W]
};

// Loads one image file and its label file (each plain or gzip). Throws naming both files when the image
// and label counts differ.
TensorDataset load_mnist(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
                         const MnistOptions& options = {});

struct MnistSplits {
  TensorDataset train;
  TensorDataset test;
};

// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte from `dir`, each with or without a .gz suffix.
MnistSplits load_mnist_dir(const std::filesystem::path& dir, const MnistOptions& options = {});

// Where Fashion-MNIST lives: $DESCENT_FASHION_MNIST when set, else Debian's dataset-fashion-mnist folder
// /usr/share/datasets/fashion-mnist.
std::filesystem::path fashion_mnist_dir();

}  // namespace descent::data
