// `descent bench step`: the time of one training step (forward, loss, backward, SGD step) of a small
// model, the engine's overhead benchmark. Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "descent/autograd/node.hpp"
#include "descent/core/parallel.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/loss.hpp"
#include "descent/optim/optimizer.hpp"

namespace descent::cli {
namespace {

struct StepBenchOptions {
  std::string model = "simplenet";
  std::int64_t batch = 32;
  std::int64_t steps = 2000;
  std::int64_t warmup = 100;
  int threads = 0;
};

void run_step_bench(const StepBenchOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  Generator gen(0);
  auto model = std::make_shared<nn::Sequential>();
  Tensor inputs, targets;
  bool classification = false;
  if (o.model == "simplenet") {
    model->push_back(std::make_shared<nn::Linear>(1, 64, gen));
    model->push_back(nn::ReLU());
    model->push_back(std::make_shared<nn::Linear>(64, 64, gen));
    model->push_back(nn::ReLU());
    model->push_back(std::make_shared<nn::Linear>(64, 1, gen));
    inputs = rand(Shape{o.batch, 1}, gen, DType::Float32, -1.0, 1.0);
    targets = rand(Shape{o.batch, 1}, gen, DType::Float32, -1.0, 1.0);
  } else if (o.model == "mlp") {
    model->push_back(std::make_shared<nn::Linear>(784, 256, gen));
    model->push_back(nn::ReLU());
    model->push_back(std::make_shared<nn::Linear>(256, 256, gen));
    model->push_back(nn::ReLU());
    model->push_back(std::make_shared<nn::Linear>(256, 10, gen));
    inputs = rand(Shape{o.batch, 784}, gen);
    std::vector<std::int64_t> labels(std::size_t(o.batch));
    for (auto& l : labels) l = std::int64_t(gen.below(10));
    targets = from_vector(labels, Shape{o.batch});
    classification = true;
  } else {
    throw Error("bench step: unknown --model '" + o.model + "' (expected simplenet or mlp)");
  }
  DESCENT_CHECK(o.steps > 0 && o.batch > 0, "bench step: --steps and --batch must be positive");
  model->build_arena();
  auto optimizer = optim::make_optimizer("sgd", model->parameters(), {{"lr", 0.01}, {"momentum", 0.9}});
  auto step = [&] {
    optimizer->zero_grad();
    Tensor out = model->forward(inputs);
    Tensor loss = classification ? nn::cross_entropy(out, targets) : nn::mse_loss(out, targets);
    autograd::backward(loss);
    optimizer->step();
    return loss;
  };
  for (std::int64_t i = 0; i < o.warmup; ++i) step();
  std::vector<double> times;
  times.reserve(std::size_t(o.steps));
  double last_loss = 0;
  for (std::int64_t i = 0; i < o.steps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    Tensor loss = step();
    const auto stop = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    if (i + 1 == o.steps) last_loss = loss.item<double>();
  }
  std::sort(times.begin(), times.end());
  nlohmann::json result = {{"benchmark", "step"},
                           {"model", o.model},
                           {"batch", o.batch},
                           {"steps", o.steps},
                           {"threads", num_threads()},
                           {"parameters", model->parameter_count()},
                           {"ms_per_step", times[times.size() / 2]},
                           {"ms_p10", times[times.size() / 10]},
                           {"ms_p90", times[times.size() * 9 / 10]},
                           {"final_loss", last_loss}};
  std::cout << result.dump() << "\n";
}

}  // namespace

static RegisterCommand reg_step{
    "bench step", "time one training step (forward, loss, backward, SGD) of a small model", [](CLI::App& sub) {
      auto options = std::make_shared<StepBenchOptions>();
      sub.add_option("--model", options->model, "simplenet (1-64-64-1, MSE) or mlp (784-256-256-10, cross-entropy)")
          ->check(CLI::IsMember({"simplenet", "mlp"}));
      sub.add_option("--batch", options->batch, "batch size")->check(positive_number());
      sub.add_option("--steps", options->steps, "timed steps")->check(positive_number());
      sub.add_option("--warmup", options->warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
      sub.add_option("--threads", options->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
      sub.callback([options] { run_step_bench(*options); });
    }};

}  // namespace descent::cli
