#pragma once
// Checkpoints: a Trainer's whole state in one safetensors file. Tensors: "model.<name>" (the model's
// state_dict, so other tools can read the weights by stripping the prefix), "optimizer.<i>.<buffer>",
// "callback.<name>.<key>". Metadata (strings): format, step, epoch, trainer (JSON: position, optimizer
// groups and step counts, schedule, gradient-pipeline and loss-scaler state, accumulation, dropout RNG
// states, history, callbacks), descent_version, plus what the caller adds (the resolved config).
// Written atomically with a CRC-32 (see safetensors.hpp), verified on load.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "descent/train/safetensors.hpp"
#include "descent/train/trainer.hpp"

namespace descent::train {

inline constexpr const char* kCheckpointFormat = "descent.checkpoint.v1";
inline constexpr const char* kDescentVersion = "0.1.0";

void save_checkpoint(const std::filesystem::path& path, const TrainingState& state, StringMap metadata = {});

struct Checkpoint {
  std::filesystem::path path;
  TrainingState state;
  StringMap metadata;
  std::int64_t step = 0;
};
// Throws descent::Error naming the file when it is missing, truncated, corrupted or not a checkpoint.
Checkpoint load_checkpoint(const std::filesystem::path& path);

// The checkpoint with the most steps among the *.safetensors files of `dir` that load and that `accept`
// takes without throwing (ties go to the newer file); `refused` receives "file: reason" for each that
// did not, whatever the failure (decoding, a checkpoint that does not fit, memory, a vanished file).
// Nothing when none is taken.
std::optional<Checkpoint> latest_checkpoint(const std::filesystem::path& dir, std::vector<std::string>* refused = nullptr,
                                            const std::function<void(const Checkpoint&)>& accept = {});

}  // namespace descent::train
