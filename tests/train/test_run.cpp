// Run folders end to end through the library: train_run, resume_run, evaluate_run, corrupted checkpoints,
// keep-K step checkpoints, and a Fashion-MNIST subset.
#include <gtest/gtest.h>

#include <fstream>

#include "descent/data/mnist.hpp"
#include "descent/train/checkpoint.hpp"
#include "descent/train/run.hpp"
#include "temp_folder.hpp"

using namespace descent;
using namespace descent::train;

namespace {

Config config_of(const std::string& toml) { return parse_config(parse_toml(toml, "test")); }

RunOptions quiet() {
  RunOptions options;
  options.progress = "none";
  return options;
}

const char* kMoons = R"(
name = "moons"
[data]
dataset = "two_moons"
samples = 600
batch_size = 32
[model]
hidden = [16, 16]
[optimizer]
name = "adam"
lr = 0.01
[trainer]
epochs = 6
[trainer.checkpoint]
monitor = "val_accuracy"
every_n_steps = 10
keep = 2
)";

}  // namespace

TEST(Run, TrainWritesTheRunFolderAndEvalMatchesTheSummary) {
  TempFolder folder;
  const auto dir = folder.path() / "run";
  const auto summary = train_run(config_of(kMoons), dir, quiet());
  for (const char* file : {"config.toml", "metrics.jsonl", "steps.csv", "epochs.csv", "summary.json",
                           "checkpoints/best.safetensors", "checkpoints/last.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(dir / file)) << file;
  std::size_t step_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "checkpoints"))
    step_files += entry.path().filename().string().starts_with("step-");
  EXPECT_EQ(step_files, 2u) << "keep = 2";
  EXPECT_EQ(summary["stopped"], "completed");
  EXPECT_EQ(summary["epochs"], 6);
  EXPECT_GT(summary["final"]["val_accuracy"].get<double>(), 0.8);
  EXPECT_EQ(summary["best"]["monitor"], "val_accuracy");
  EXPECT_GE(summary["best"]["value"].get<double>(), summary["final"]["val_accuracy"].get<double>());
  const auto evaluated = evaluate_run(dir, "last");
  EXPECT_EQ(evaluated["test"]["test_accuracy"], summary["test"]["test_accuracy"]);
  EXPECT_EQ(evaluated["test"]["test_loss"], summary["test"]["test_loss"]);
  EXPECT_EQ(evaluated["step"], summary["steps"]);
  // The folder holds a run now: training into it again is refused with the way out.
  try {
    train_run(config_of(kMoons), dir, quiet());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("descent resume"), std::string::npos) << e.what();
  }
  // Resuming a finished run changes nothing.
  const auto again = resume_run(dir, quiet());
  EXPECT_EQ(again["steps"], summary["steps"]);
  EXPECT_EQ(again["test"], summary["test"]);
}

TEST(Run, ACorruptedNewestCheckpointIsRefusedAndThePreviousOneUsed) {
  TempFolder folder;
  const auto dir = folder.path() / "run";
  Config config = config_of(kMoons);
  const auto reference = train_run(config, dir, quiet());
  // Make last.safetensors the newest step and corrupt it; a truncated step file joins it.
  const auto last = dir / "checkpoints" / "last.safetensors";
  std::string bytes = read_file_bytes(last);
  bytes[bytes.size() - 3] ^= 0x55;
  std::ofstream(last, std::ios::binary) << bytes;
  std::vector<std::string> refused;
  const auto latest = latest_checkpoint(dir / "checkpoints", &refused);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(refused.size(), 1u);
  EXPECT_NE(refused.at(0).find("checksum mismatch"), std::string::npos) << refused.at(0);
  EXPECT_NE(latest->path.filename(), "last.safetensors");
  try {
    load_checkpoint(last);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("last.safetensors"), std::string::npos) << e.what();
  }
  // Resuming continues from the newest good checkpoint and reaches the same end.
  const auto resumed = resume_run(dir, quiet());
  EXPECT_EQ(resumed["steps"], reference["steps"]);
  EXPECT_EQ(resumed["test"], reference["test"]);
}

TEST(Run, CheckpointMetadataHoldsTheResolvedConfig) {
  TempFolder folder;
  const auto dir = folder.path() / "run";
  train_run(config_of(kMoons), dir, quiet());
  const auto checkpoint = load_checkpoint(dir / "checkpoints" / "best.safetensors");
  EXPECT_EQ(checkpoint.metadata.at("config"), read_file_bytes(dir / "config.toml"));
  EXPECT_EQ(checkpoint.metadata.at("format"), kCheckpointFormat);
  EXPECT_TRUE(checkpoint.state.tensors.contains("model.0.weight"));
  EXPECT_TRUE(checkpoint.state.tensors.contains("optimizer.0.exp_avg"));
}

// A Fashion-MNIST MLP on a 6000-image subset: the data path, the progress-free run and the accuracy.
TEST(Run, FashionMnistSubsetLearns) {
  if (!std::filesystem::exists(data::fashion_mnist_dir())) GTEST_SKIP() << "Fashion-MNIST not installed";
  TempFolder folder;
  const auto summary = train_run(config_of(R"(
[data]
dataset = "fashion_mnist"
train_subset = 6000
test_subset = 2000
batch_size = 64
[model]
hidden = [128]
[optimizer]
name = "adamw"
lr = 0.002
weight_decay = 0.01
[schedule]
name = "warmup_cosine"
warmup_steps = 20
total_steps = "auto"
[trainer]
epochs = 3
)"), folder.path() / "run", quiet());
  EXPECT_GT(summary["test"]["test_accuracy"].get<double>(), 0.75) << summary.dump();
  EXPECT_GT(summary["test"]["test_top5_accuracy"].get<double>(), 0.97) << summary.dump();
}
