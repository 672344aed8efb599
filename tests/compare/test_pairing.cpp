// Pairing: for one seed, every setup's trial starts from the same weights, sees the same batches in the same
// order and draws the same dropout masks; another seed changes all three.
#include <gtest/gtest.h>

#include "descent/compare/config.hpp"
#include "descent/core/tensor.hpp"
#include "descent/train/builders.hpp"
#include "descent/train/config.hpp"

namespace descent::compare {
namespace {

struct Built {
  train::DataSplits splits;
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<data::DataLoader> loader;
};

Built build(const CompareConfig& c, std::size_t setup, std::uint64_t seed) {
  const train::Config config = train::parse_config(trial_config(c, c.setups[setup], seed));
  Built b;
  b.splits = train::build_datasets(config.data, config.seed);
  b.model = train::build_model(config.model, b.splits.sample_shape, b.splits.num_outputs, config.seed);
  b.loader = std::make_unique<data::DataLoader>(train::make_train_loader(b.splits, config.data, config.seed));
  // Building the optimizer must not draw from anything the model or the data use.
  train::build_optimizer(config.optimizer, *b.model);
  return b;
}

std::vector<float> weights(nn::Module& model) {
  std::vector<float> all;
  for (const auto& [name, tensor] : model.state_dict()) {
    const auto values = tensor.to_vector<float>();
    all.insert(all.end(), values.begin(), values.end());
  }
  return all;
}

// The training-mode output of the first batch: weights, batch and dropout mask together.
std::vector<float> first_output(Built& b) {
  auto reader = b.loader->epoch(0);
  for (auto& batch : reader) {
    b.model->train();
    return b.model->forward(batch.inputs).to_vector<float>();
  }
  return {};
}

TEST(Pairing, SameSeedSameStartBatchesAndDropout) {
  const CompareConfig c = parse_compare_config(train::parse_toml(R"(
    [data]
    dataset = "two_spirals"
    samples = 300
    batch_size = 16
    [data.transforms]
    scale = "standardize"
    [model]
    hidden = [16, 16]
    dropout = 0.3
    [compare]
    seeds = 2
    [[compare.setups]]
    name = "sgd"
    optimizer = { name = "sgd", lr = 0.1, momentum = 0.9, nesterov = true }
    [[compare.setups]]
    name = "rmsprop"
    optimizer = { name = "rmsprop", lr = 0.001 }
    schedule = { name = "cosineannealinglr", T_max = "auto" }
  )", "pairing"), "pairing", 2);
  Built sgd = build(c, 0, 0), rmsprop = build(c, 1, 0), other_seed = build(c, 0, 1);

  EXPECT_EQ(weights(*sgd.model), weights(*rmsprop.model));
  EXPECT_NE(weights(*sgd.model), weights(*other_seed.model));
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    EXPECT_EQ(sgd.loader->epoch_order(epoch), rmsprop.loader->epoch_order(epoch)) << "epoch " << epoch;
    EXPECT_NE(sgd.loader->epoch_order(epoch), other_seed.loader->epoch_order(epoch)) << "epoch " << epoch;
  }
  EXPECT_EQ(sgd.splits.validation->size(), rmsprop.splits.validation->size());
  const auto a = first_output(sgd), b = first_output(rmsprop);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace descent::compare
