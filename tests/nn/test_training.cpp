// End-to-end training with a plain loop: the seeds' regression problem and a Fashion-MNIST MLP.
#include <gtest/gtest.h>

#include <filesystem>

#include "descent/autograd/node.hpp"
#include "descent/data/loader.hpp"
#include "descent/data/mnist.hpp"
#include "descent/data/synthetic.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/loss.hpp"
#include "descent/optim/optimizer.hpp"

using namespace descent;

namespace {

std::shared_ptr<nn::Sequential> mlp(const std::vector<std::int64_t>& sizes, Generator& gen) {
  auto model = std::make_shared<nn::Sequential>();
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    model->push_back(std::make_shared<nn::Linear>(sizes[i], sizes[i + 1], gen));
    if (i + 2 < sizes.size()) model->push_back(nn::ReLU());
  }
  model->build_arena();
  return model;
}

double evaluate_mse(nn::Module& model, const data::TensorDataset& set) {
  NoGradGuard guard;
  return nn::mse_loss(model.forward(set.inputs()), set.targets()).item<double>();
}

}  // namespace

// The seeds' problem: y = 3x + 2 + 0.1 noise, 1000 samples, MLP 1-64-64-1 with ReLU, MSE, batch 32,
// shuffled; SGD(lr 0.01, momentum 0.9) reaches MSE < 0.02 within 100 epochs.
TEST(Training, SeedsRegressionReachesTargetMse) {
  Generator gen(42);
  auto dataset = std::make_shared<data::TensorDataset>(data::make_linear_regression(gen));
  auto model = mlp({1, 64, 64, 1}, gen);
  auto optimizer = optim::make_optimizer("sgd", model->parameters(), {{"lr", 0.01}, {"momentum", 0.9}});
  data::DataLoader loader(dataset, {.batch_size = 32, .shuffle = true, .seed = 7, .prefetch = 0});
  double mse = evaluate_mse(*model, *dataset);
  const double initial = mse;
  int epochs = 0;
  for (; epochs < 100 && mse >= 0.02; ++epochs) {
    for (auto& batch : loader.epoch(epochs)) {
      optimizer->zero_grad();
      Tensor loss = nn::mse_loss(model->forward(batch.inputs), batch.targets);
      autograd::backward(loss);
      optimizer->step();
    }
    mse = evaluate_mse(*model, *dataset);
  }
  RecordProperty("epochs", epochs);
  EXPECT_LT(mse, 0.02) << "after " << epochs << " epochs, starting from " << initial;
  EXPECT_GT(initial, 1.0);  // the check is meaningful: the untrained model is far off
}

// A Fashion-MNIST MLP (784-256-256-10) reaches >= 85% test accuracy in 3 epochs.
TEST(Training, FashionMnistMlpReaches85Percent) {
  const auto dir = data::fashion_mnist_dir();
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "Fashion-MNIST not installed at " << dir;
  auto splits = data::load_mnist_dir(dir, {.flatten = true});
  auto train = std::make_shared<data::TensorDataset>(splits.train);
  Generator gen(1);
  auto model = mlp({784, 256, 256, 10}, gen);
  auto optimizer = optim::make_optimizer("sgd", model->parameters(), {{"lr", 0.05}, {"momentum", 0.9}});
  data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 3, .prefetch = 2});
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (auto& batch : loader.epoch(epoch)) {
      optimizer->zero_grad();
      Tensor loss = nn::cross_entropy(model->forward(batch.inputs), batch.targets);
      autograd::backward(loss);
      optimizer->step();
    }
  }
  model->eval();
  NoGradGuard guard;
  Tensor predictions = argmax(model->forward(splits.test.inputs()), 1);
  const auto predicted = predictions.to_vector<std::int64_t>();
  const auto labels = splits.test.targets().to_vector<std::int64_t>();
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
  const double accuracy = double(correct) / double(labels.size());
  RecordProperty("test_accuracy", std::to_string(accuracy));
  EXPECT_GE(accuracy, 0.85);
}
