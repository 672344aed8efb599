// `descent bench data`: the cost of loading and batching one Fashion-MNIST epoch (no model) against one
// training epoch of the MLP 784-256-256-10 (batch 128, SGD with momentum) over the same loader, measured
// in the same run. Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "descent/autograd/node.hpp"
#include "descent/data/loader.hpp"
#include "descent/data/mnist.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/loss.hpp"
#include "descent/optim/optimizer.hpp"

namespace descent::cli {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run_data_bench(int rounds) {
  const auto dir = data::fashion_mnist_dir();
  DESCENT_CHECK(std::filesystem::exists(dir), "bench data: Fashion-MNIST not found at ", dir.string());
  auto start = Clock::now();
  auto splits = data::load_mnist_dir(dir, {.flatten = true});
  const double decode_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  auto train = std::make_shared<data::TensorDataset>(splits.train);

  Generator gen(0);
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Linear>(784, 256, gen));
  model->push_back(nn::ReLU());
  model->push_back(std::make_shared<nn::Linear>(256, 256, gen));
  model->push_back(nn::ReLU());
  model->push_back(std::make_shared<nn::Linear>(256, 10, gen));
  model->build_arena();
  auto optimizer = optim::make_optimizer("sgd", model->parameters(), {{"lr", 0.05}, {"momentum", 0.9}});

  std::vector<double> load_only, load_prefetch, train_epoch;
  for (int round = 0; round < rounds; ++round) {
    for (std::int64_t prefetch : {0, 2}) {
      data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 1, .prefetch = prefetch});
      start = Clock::now();
      [[maybe_unused]] std::int64_t batches = 0;  // touches every batch
      for (auto& batch : loader.epoch(round)) batches += batch.inputs.numel() > 0;
      (prefetch == 0 ? load_only : load_prefetch)
          .push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 1, .prefetch = 2});
    start = Clock::now();
    for (auto& batch : loader.epoch(round)) {
      optimizer->zero_grad();
      autograd::backward(nn::cross_entropy(model->forward(batch.inputs), batch.targets));
      optimizer->step();
    }
    train_epoch.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  const double load = median(load_only), train_ms = median(train_epoch);
  std::cout << nlohmann::json({{"benchmark", "data"},
                               {"decode_ms", decode_ms},
                               {"epoch_load_ms", load},
                               {"epoch_load_prefetch_ms", median(load_prefetch)},
                               {"mlp_epoch_ms", train_ms},
                               {"load_fraction_of_epoch", load / train_ms},
                               {"rounds", rounds}})
                   .dump()
            << "\n";
}

}  // namespace

static RegisterCommand reg_bench_data{
    "bench data", "one Fashion-MNIST loader epoch against one MLP training epoch", [](CLI::App& sub) {
      auto rounds = std::make_shared<int>(3);
      sub.add_option("--rounds", *rounds, "epochs of each kind (median reported)")->check(positive_number());
      sub.callback([rounds] { run_data_bench(*rounds); });
    }};

}  // namespace descent::cli
