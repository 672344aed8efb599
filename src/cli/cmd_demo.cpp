// `descent demo-loop`: the seeds' regression problem and a Fashion-MNIST MLP trained
// with a plain loop, printing the losses and the test accuracy.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "command.hpp"
#include "descent/autograd/node.hpp"
#include "descent/data/loader.hpp"
#include "descent/data/mnist.hpp"
#include "descent/data/synthetic.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/loss.hpp"
#include "descent/optim/optimizer.hpp"

namespace descent::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::shared_ptr<nn::Sequential> mlp(const std::vector<std::int64_t>& sizes, Generator& gen) {
  auto model = std::make_shared<nn::Sequential>();
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    model->push_back(std::make_shared<nn::Linear>(sizes[i], sizes[i + 1], gen));
    if (i + 2 < sizes.size()) model->push_back(nn::ReLU());
  }
  model->build_arena();
  return model;
}

void seeds_regression(std::uint64_t seed) {
  std::printf("== The seeds' problem: y = 3x + 2 + 0.1 noise, MLP 1-64-64-1, SGD(lr 0.01, momentum 0.9), batch 32\n");
  Generator gen(seed);
  auto dataset = std::make_shared<data::TensorDataset>(data::make_linear_regression(gen));
  auto model = mlp({1, 64, 64, 1}, gen);
  auto optimizer = optim::make_optimizer("sgd", model->parameters(), {{"lr", 0.01}, {"momentum", 0.9}});
  data::DataLoader loader(dataset, {.batch_size = 32, .shuffle = true, .seed = seed, .prefetch = 0});
  const auto start = Clock::now();
  for (int epoch = 0; epoch < 100; ++epoch) {
    double total = 0;
    std::int64_t batches = 0;
    for (auto& batch : loader.epoch(epoch)) {
      optimizer->zero_grad();
      Tensor loss = nn::mse_loss(model->forward(batch.inputs), batch.targets);
      autograd::backward(loss);
      optimizer->step();
      total += loss.item<double>();
      ++batches;
    }
    if (epoch < 5 || (epoch + 1) % 20 == 0) std::printf("epoch %3d  train mse %.5f\n", epoch + 1, total / double(batches));
  }
  NoGradGuard guard;
  const double mse = nn::mse_loss(model->forward(dataset->inputs()), dataset->targets()).item<double>();
  std::printf("final mse on all 1000 samples: %.5f (target < 0.02) in %.2f s\n\n", mse, seconds_since(start));
}

void fashion_mnist(std::uint64_t seed, int epochs) {
  std::printf("== Fashion-MNIST MLP 784-256-256-10, SGD(lr 0.05, momentum 0.9), batch 128, %d epochs\n", epochs);
  const auto dir = data::fashion_mnist_dir();
  DESCENT_CHECK(std::filesystem::exists(dir), "demo: Fashion-MNIST not found at ", dir.string(),
                " (install Debian's dataset-fashion-mnist: scripts/install-deps)");
  auto splits = data::load_mnist_dir(dir, {.flatten = true});
  auto train = std::make_shared<data::TensorDataset>(splits.train);
  Generator gen(seed);
  auto model = mlp({784, 256, 256, 10}, gen);
  auto optimizer = optim::make_optimizer("sgd", model->parameters(), {{"lr", 0.05}, {"momentum", 0.9}});
  data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = seed, .prefetch = 2});
  const auto start = Clock::now();
  for (int epoch = 0; epoch < epochs; ++epoch) {
    model->train();
    double total = 0;
    std::int64_t batches = 0;
    for (auto& batch : loader.epoch(epoch)) {
      optimizer->zero_grad();
      Tensor loss = nn::cross_entropy(model->forward(batch.inputs), batch.targets);
      autograd::backward(loss);
      optimizer->step();
      total += loss.item<double>();
      ++batches;
    }
    model->eval();
    NoGradGuard guard;
    Tensor logits = model->forward(splits.test.inputs());
    const double test_loss = nn::cross_entropy(logits, splits.test.targets()).item<double>();
    const auto predicted = argmax(logits, 1).to_vector<std::int64_t>();
    const auto labels = splits.test.targets().to_vector<std::int64_t>();
    std::int64_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
    std::printf("epoch %d  train loss %.4f  test loss %.4f  test accuracy %.2f%%  (%.1f s)\n", epoch + 1,
                total / double(batches), test_loss, 100.0 * double(correct) / double(labels.size()),
                seconds_since(start));
  }
}

}  // namespace

static RegisterCommand reg_demo{
    "demo-loop", "the seeds' regression and a Fashion-MNIST MLP trained with a plain loop (no trainer)",
    [](CLI::App& sub) {
  auto seed = std::make_shared<std::uint64_t>(0);
  auto epochs = std::make_shared<int>(3);
  sub.add_option("--seed", *seed, "random seed");
  sub.add_option("--epochs", *epochs, "Fashion-MNIST epochs")->check(positive_number());
  sub.callback([seed, epochs] {
    seeds_regression(*seed);
    fashion_mnist(*seed, *epochs);
  });
}};

}  // namespace descent::cli
