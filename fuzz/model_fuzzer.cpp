// Past validation: builds the data, the model, the optimizer and the schedule of arbitrary configs and
// trains two steps. Configs that pass validation must build and train, or raise descent::Error. Sizes are
// kept small here (widths, samples) so each input runs in milliseconds; the readers' bounds on large
// sizes are the config fuzzer's and the unit tests' business.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "descent/core/error.hpp"
#include "descent/train/builders.hpp"
#include "descent/train/trainer.hpp"

namespace {

bool small(const descent::train::Config& c) {
  const auto& m = c.model;
  std::int64_t widest = std::max({m.hidden_size, m.d_model, m.dim_feedforward, m.num_layers * 16});
  for (auto w : m.hidden) widest = std::max(widest, w);
  for (auto w : m.channels) widest = std::max(widest, w);
  return widest <= 256 && c.data.samples <= 2000 && c.data.dims <= 64 && c.data.dataset != "csv" &&
         c.data.dataset != "fashion_mnist";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace descent;
  using namespace descent::train;
  try {
    const Config config = parse_config(parse_toml(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz-input"));
    if (!small(config)) return 0;
    const DataSplits splits = build_datasets(config.data, config.seed);
    auto model = build_model(config.model, splits.sample_shape, splits.num_outputs, config.seed);
    TrainerOptions options;
    options.epochs = 1;
    options.max_steps = 2;
    options.classification = splits.classification;
    options.accumulation_steps = config.transforms.accumulation_steps;
    options.gradients = config.transforms.pipeline;
    Trainer trainer(model, build_optimizer(config.optimizer, *model), build_loss(config.trainer, splits.classification), options);
    if (auto binding = build_schedule(config, trainer.optimizer(), 2)) trainer.add_schedule(std::move(*binding), false);
    const auto loader = make_train_loader(splits, config.data, config.seed);
    trainer.fit(loader, nullptr);
  } catch (const descent::Error&) {
    // Refused with a message: the expected outcome for a config that cannot be built.
  }
  return 0;
}
