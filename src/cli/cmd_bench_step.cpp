// `descent bench step`: the time of one real training step (Trainer::train_batch: forward, loss and
// backward under the chosen precision, the gradient pipeline, the optimizer step) of a preset model on a
// fixed batch, and the memory the step's activations take. Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "descent/core/allocator.hpp"
#include "descent/core/blas.hpp"
#include "descent/core/parallel.hpp"
#include "descent/train/builders.hpp"
#include "descent/train/trainer.hpp"

namespace descent::cli {
namespace {

struct StepBenchOptions {
  std::string model = "simplenet";
  std::string precision = "fp32";
  std::string optimizer = "adamw";
  std::int64_t batch = 128;
  std::int64_t steps = 200;
  std::int64_t warmup = 20;
  int threads = 0;
};

// The presets (bench/python/torch_step.py builds the same models). Image models see Fashion-MNIST-shaped
// batches [N, 1, 28, 28] and 10 classes; the sequence models read an image as 28 steps of 28 features.
struct Preset {
  train::ModelConfig model;
  Shape sample;
  std::int64_t outputs;
};

Preset preset(const std::string& name) {
  train::ModelConfig m;
  const Shape image{1, 28, 28};
  if (name == "simplenet") {  // the seeds' regression MLP: 1-64-64-1, MSE
    m.hidden = {64, 64};
    return {m, Shape{1}, 1};
  }
  if (name == "mlp") {  // examples/fashion-mnist-mlp.toml: 784-256-256-10
    m.hidden = {256, 256};
    return {m, image, 10};
  }
  m.type = "cnn";
  if (name == "cnn") {  // examples/fashion-mnist-cnn.toml
    m.channels = {16, 32};
    m.kernel_size = 3;
    m.norm = "batch";
    m.hidden = {128};
    m.dropout = 0.2;
    return {m, image, 10};
  }
  if (name == "cnn2c2d") {  // two 5x5 convolutions (32, 64 channels), a 1024-unit dense layer, the output
    m.channels = {32, 64};
    m.kernel_size = 5;
    m.hidden = {1024};
    return {m, image, 10};
  }
  if (name == "lstm" || name == "transformer") {  // the config defaults of those model types
    train::ModelConfig d;
    d.type = name;
    return {d, image, 10};
  }
  throw Error("bench step: --model " + name + ": expected simplenet, mlp, cnn, cnn2c2d, lstm or transformer");
}

void run_step_bench(const StepBenchOptions& o) {
  DESCENT_CHECK(o.steps > 0 && o.batch > 0, "bench step: --steps and --batch must be positive");
  if (o.threads > 0) set_num_threads(o.threads);
  const Preset p = preset(o.model);
  const bool classification = p.outputs > 1;
  auto model = train::build_model(p.model, p.sample, p.outputs, 0);
  train::OptimizerConfig oc;
  oc.name = o.optimizer;
  oc.options = o.optimizer == "sgd" ? nlohmann::json{{"lr", 0.01}, {"momentum", 0.9}}
                                    : nlohmann::json{{"lr", 1e-3}, {"weight_decay", 0.01}};
  train::TrainerConfig tc;
  train::TrainerOptions options;
  options.classification = classification;
  options.precision = parse_precision(o.precision, "bench step: --precision");
  if (options.precision == Precision::Float16) options.gradients.loss_scaling = transform::GradScalerOptions{};
  train::Trainer trainer(model, train::build_optimizer(oc, *model), train::build_loss(tc, classification), options);

  Generator gen(0);
  Shape input_shape{o.batch};
  for (auto d : p.sample) input_shape.push_back(d);
  data::Batch batch;
  batch.inputs = rand(input_shape, gen, DType::Float32, -1.0, 1.0);
  if (classification) {
    std::vector<std::int64_t> labels(std::size_t(o.batch));
    for (auto& l : labels) l = std::int64_t(gen.below(std::uint64_t(p.outputs)));
    batch.targets = from_vector(labels, Shape{o.batch});
  } else {
    batch.targets = rand(Shape{o.batch, p.outputs}, gen, DType::Float32, -1.0, 1.0);
  }
  for (std::int64_t i = 0; i < o.warmup; ++i) trainer.train_batch(batch);

  // Activation memory: what one forward pass leaves allocated for backward (its saved tensors and
  // output), measured once with the allocator's counters; the 16-bit copies of the weights, made once
  // per step, are counted apart.
  std::size_t activation_bytes = 0, weight_copy_bytes = 0;
  {
    const std::size_t before = CachingAllocator::instance().stats().bytes_in_use;
    Autocast autocast(options.precision);
    Tensor loss = trainer.loss()(trainer.model().forward(batch.inputs), batch.targets);
    const std::size_t after = CachingAllocator::instance().stats().bytes_in_use;
    if (options.precision != Precision::Float32)
      for (const Tensor& param : trainer.model().parameters())
        if (Tensor copy = autograd::find_autocast_copy(param, precision_dtype(options.precision)); copy.defined())
          weight_copy_bytes += CachingAllocator::size_class(copy.storage()->nbytes());
    activation_bytes = after - before - weight_copy_bytes;
  }
  trainer.model().zero_grad();

  std::vector<double> times;
  times.reserve(std::size_t(o.steps));
  for (std::int64_t i = 0; i < o.steps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    trainer.train_batch(batch);
    const auto stop = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(times.begin(), times.end());
  nlohmann::json result = {{"benchmark", "step"},
                           {"model", o.model},
                           {"precision", o.precision},
                           {"optimizer", o.optimizer},
                           {"batch", o.batch},
                           {"steps", o.steps},
                           {"threads", num_threads()},
                           {"bf16_kernel", blas::bf16_kernel_name(blas::bf16_kernel())},
                           {"parameters", trainer.model().parameter_count()},
                           {"activation_bytes", activation_bytes},
                           {"weight_copy_bytes", weight_copy_bytes},
                           {"ms_per_step", times[times.size() / 2]},
                           {"ms_p10", times[times.size() / 10]},
                           {"ms_p90", times[times.size() * 9 / 10]},
                           {"steps_skipped", trainer.gradients().steps_skipped()}};
  std::cout << result.dump() << "\n";
}

}  // namespace

static RegisterCommand reg_step{
    "bench step", "time one real training step (Trainer::train_batch) of a preset model", [](CLI::App& sub) {
      auto options = std::make_shared<StepBenchOptions>();
      sub.add_option("--model", options->model,
                     "simplenet (1-64-64-1, MSE), mlp (784-256-256-10), cnn (examples/fashion-mnist-cnn.toml), "
                     "cnn2c2d (5x5 convs of 32 and 64 channels, 1024 dense), lstm, transformer (config defaults)")
          ->check(CLI::IsMember({"simplenet", "mlp", "cnn", "cnn2c2d", "lstm", "transformer"}));
      sub.add_option("--precision", options->precision, "fp32, bf16 or fp16 (trainer.precision)")
          ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
      sub.add_option("--optimizer", options->optimizer, "adamw (lr 1e-3, weight_decay 0.01) or sgd (lr 0.01, momentum 0.9)")
          ->check(CLI::IsMember({"adamw", "sgd"}));
      sub.add_option("--batch", options->batch, "batch size")->check(positive_number());
      sub.add_option("--steps", options->steps, "timed steps")->check(positive_number());
      sub.add_option("--warmup", options->warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
      sub.add_option("--threads", options->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
      sub.callback([options] { run_step_bench(*options); });
    }};

}  // namespace descent::cli
