#include "descent/train/checkpoint.hpp"

namespace descent::train {

void save_checkpoint(const std::filesystem::path& path, const TrainingState& state, StringMap metadata) {
  metadata["format"] = kCheckpointFormat;
  metadata["descent_version"] = kDescentVersion;
  metadata["step"] = std::to_string(state.meta.at("position").at("step").get<std::int64_t>());
  metadata["epoch"] = std::to_string(state.meta.at("position").at("epoch").get<std::int64_t>());
  metadata["trainer"] = state.meta.dump();
  save_safetensors(path, state.tensors, metadata);
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  DESCENT_CHECK(std::filesystem::is_regular_file(path), "checkpoint ", path.string(), " does not exist");
  auto content = load_safetensors(path);
  const auto format = content.metadata.find("format");
  DESCENT_CHECK(format != content.metadata.end() && format->second == kCheckpointFormat, "checkpoint ",
                path.string(), ": metadata format is '",
                format == content.metadata.end() ? std::string("(none)") : format->second, "', expected ",
                kCheckpointFormat);
  DESCENT_CHECK(content.checksum_verified, "checkpoint ", path.string(), ": no checksum to verify");
  const auto trainer = content.metadata.find("trainer");
  DESCENT_CHECK(trainer != content.metadata.end(), "checkpoint ", path.string(), ": no trainer state in its metadata");
  Checkpoint out;
  out.path = path;
  out.state.meta = nlohmann::json::parse(trainer->second, nullptr, false);
  DESCENT_CHECK(out.state.meta.is_object() && out.state.meta.contains("position"), "checkpoint ", path.string(),
                ": its trainer state is not valid JSON");
  out.state.tensors = std::move(content.tensors);
  content.metadata.erase("trainer");
  out.metadata = std::move(content.metadata);
  out.step = out.state.meta["position"].value("step", std::int64_t(0));
  return out;
}

std::optional<Checkpoint> latest_checkpoint(const std::filesystem::path& dir, std::vector<std::string>* refused) {
  std::optional<Checkpoint> best;
  std::filesystem::file_time_type best_time{};
  if (!std::filesystem::is_directory(dir)) return best;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".safetensors") continue;
    try {
      Checkpoint candidate = load_checkpoint(entry.path());
      const auto time = entry.last_write_time();
      if (!best || candidate.step > best->step || (candidate.step == best->step && time > best_time)) {
        best = std::move(candidate);
        best_time = time;
      }
    } catch (const Error& e) {
      if (refused) refused->push_back(e.what());
    }
  }
  return best;
}

}  // namespace descent::train
