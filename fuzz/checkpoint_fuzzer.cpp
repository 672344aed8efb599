// Past decoding: feeds arbitrary safetensors bytes (no checksum needed, so mutations reach the state)
// to a small trainer's load_state, then trains two steps from the loaded state. Any input must load and
// train, or raise descent::Error: a crash, a sanitizer report or another exception is a bug (the probe's
// resume defects were raw json and out-of-range exceptions here).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "descent/core/error.hpp"
#include "descent/train/builders.hpp"
#include "descent/train/safetensors.hpp"
#include "descent/train/trainer.hpp"

namespace {

// The seed corpus (fuzz/corpus/checkpoint) holds checkpoints of this config, with their checksums removed.
constexpr const char* kConfig = R"(
seed = 1
[data]
dataset = "two_moons"
samples = 64
batch_size = 16
prefetch = 0
[model]
hidden = [4]
dropout = 0.1
[optimizer]
name = "adam"
lr = 0.01
[schedule]
name = "steplr"
step_size = 3
[trainer]
epochs = 2
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace descent;
  using namespace descent::train;
  static const Config config = parse_config(parse_toml(kConfig, "fuzz-config"));
  static const DataSplits splits = build_datasets(config.data, config.seed);
  try {
    const auto content = decode_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz-input");
    const auto trainer_meta = content.metadata.find("trainer");
    if (trainer_meta == content.metadata.end()) return 0;
    TrainingState state;
    state.meta = nlohmann::json::parse(trainer_meta->second, nullptr, false);
    if (!state.meta.is_object()) return 0;
    state.tensors = content.tensors;

    auto model = build_model(config.model, splits.sample_shape, splits.num_outputs, config.seed);
    TrainerOptions options;
    options.epochs = config.trainer.epochs;
    options.max_steps = 2;
    options.classification = splits.classification;
    Trainer trainer(model, build_optimizer(config.optimizer, *model), build_loss(config.trainer, splits.classification), options);
    if (auto binding = build_schedule(config, trainer.optimizer(), 8)) trainer.add_schedule(std::move(*binding), false);
    trainer.load_state(state);
    const auto loader = make_train_loader(splits, config.data, config.seed);
    trainer.fit(loader, nullptr);
  } catch (const descent::Error&) {
    // Refused with a message: resume then skips the file and tries the next checkpoint.
  }
  return 0;
}
