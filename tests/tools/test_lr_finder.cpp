#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "descent/autograd/node.hpp"
#include "descent/data/synthetic.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/loss.hpp"
#include "descent/tools/lr_finder.hpp"

using namespace descent;

namespace {

std::shared_ptr<nn::Sequential> seeds_model(Generator& gen) {
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Linear>(1, 64, gen));
  model->push_back(nn::ReLU());
  model->push_back(std::make_shared<nn::Linear>(64, 64, gen));
  model->push_back(nn::ReLU());
  model->push_back(std::make_shared<nn::Linear>(64, 1, gen));
  model->build_arena();
  return model;
}

Tensor mse(nn::Module& model, const data::Batch& batch) { return nn::mse_loss(model.forward(batch.inputs), batch.targets); }

}  // namespace

TEST(LrFinder, SuggestionRulesOnAKnownCurve) {
  // Loss falls steepest between lr 1e-3 and 1e-2 and has its minimum at 1e-1.
  std::vector<double> lrs, losses;
  for (int i = 0; i < 60; ++i) {
    const double log_lr = -6.0 + i * 0.1;  // 1e-6 .. ~1e0
    lrs.push_back(std::pow(10.0, log_lr));
    const double x = log_lr + 2.5;
    losses.push_back(1.0 - 0.8 / (1.0 + std::exp(-4.0 * x)) + (log_lr > -1.0 ? (log_lr + 1.0) * 2.0 : 0.0));
  }
  auto suggestions = tools::suggest_learning_rates(lrs, losses);
  ASSERT_EQ(suggestions.size(), 3u);
  EXPECT_EQ(suggestions[0].rule, "steepest");
  EXPECT_NEAR(std::log10(suggestions[0].lr), -2.5, 0.15);
  EXPECT_EQ(suggestions[2].rule, "minimum");
  EXPECT_NEAR(std::log10(suggestions[2].lr), -2.0, 0.15);  // minimum at 1e-1, divided by 10
  EXPECT_EQ(suggestions[1].rule, "valley");
  EXPECT_GT(suggestions[1].lr, lrs[6]);
  EXPECT_LT(suggestions[1].lr, 1e-1);
}

TEST(LrFinder, RestoresModelAndOptimizerAndSuggestsARateThatTrains) {
  Generator gen(5);
  auto dataset = std::make_shared<data::TensorDataset>(data::make_linear_regression(gen));
  auto model = seeds_model(gen);
  auto optimizer = optim::make_optimizer("sgd", model->parameters(), {{"lr", 0.01}, {"momentum", 0.9}});
  data::DataLoader loader(dataset, {.batch_size = 32, .shuffle = true, .seed = 1, .prefetch = 0});
  // A few steps first, so that there is optimizer state (momentum buffers) to restore.
  int taken = 0;
  for (auto& batch : loader.epoch(100)) {
    if (taken++ == 3) break;
    optimizer->zero_grad();
    autograd::backward(mse(*model, batch));
    optimizer->step();
  }
  std::vector<std::vector<float>> before;
  for (auto& p : model->parameters()) before.push_back(p.to_vector<float>());
  std::map<std::string, std::vector<float>> state_before;
  for (auto& [name, t] : optimizer->state_dict().tensors) state_before[name] = t.to_vector<float>();
  ASSERT_FALSE(state_before.empty());

  tools::LrFinderOptions options;
  options.start_lr = 1e-6;
  options.end_lr = 10.0;
  options.iterations = 200;
  auto result = tools::lr_find(*model, *optimizer, loader, mse, options);
  EXPECT_TRUE(result.diverged);  // lr 10 with momentum blows up this model
  EXPECT_EQ(result.lrs.size(), result.smoothed_losses.size());
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(model->parameters()[i].to_vector<float>(), before[i]);
  std::map<std::string, std::vector<float>> state_after;
  for (auto& [name, t] : optimizer->state_dict().tensors) state_after[name] = t.to_vector<float>();
  EXPECT_EQ(state_after, state_before);
  EXPECT_DOUBLE_EQ(optimizer->hyperparameter(0, "lr"), 0.01);

  const double lr = result.suggestion("valley");
  ASSERT_GT(lr, 1e-6);
  ASSERT_LT(lr, 10.0);
  optimizer->set_hyperparameter(0, "lr", lr);
  double final_mse = 0;
  for (int epoch = 0; epoch < 30; ++epoch) {
    for (auto& batch : loader.epoch(epoch)) {
      optimizer->zero_grad();
      Tensor loss = mse(*model, batch);
      autograd::backward(loss);
      optimizer->step();
    }
  }
  {
    NoGradGuard guard;
    final_mse = nn::mse_loss(model->forward(dataset->inputs()), dataset->targets()).item<double>();
  }
  EXPECT_LT(final_mse, 0.05) << "trained at the valley suggestion " << lr;
}

TEST(LrFinder, RejectsBadOptions) {
  Generator gen(5);
  auto dataset = std::make_shared<data::TensorDataset>(data::make_linear_regression(gen, 64));
  auto model = seeds_model(gen);
  auto optimizer = optim::make_optimizer("sgd", model->parameters(), {{"lr", 0.01}});
  data::DataLoader loader(dataset, {.batch_size = 32, .prefetch = 0});
  tools::LrFinderOptions bad;
  bad.start_lr = 1.0;
  bad.end_lr = 0.1;
  EXPECT_THROW(tools::lr_find(*model, *optimizer, loader, mse, bad), Error);
  bad = {};
  bad.mode = "cubic";
  EXPECT_THROW(tools::lr_find(*model, *optimizer, loader, mse, bad), Error);
}
