#include "descent/train/checkpoint.hpp"

#include <algorithm>
#include <charconv>

namespace descent::train {

void save_checkpoint(const std::filesystem::path& path, const TrainingState& state, StringMap metadata) {
  metadata["format"] = kCheckpointFormat;
  metadata["descent_version"] = kDescentVersion;
  metadata["step"] = std::to_string(state.meta.at("position").at("step").get<std::int64_t>());
  metadata["epoch"] = std::to_string(state.meta.at("position").at("epoch").get<std::int64_t>());
  if (state.meta.contains("precision")) metadata["precision"] = state.meta.at("precision").get<std::string>();
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

std::optional<Checkpoint> latest_checkpoint(const std::filesystem::path& dir, std::vector<std::string>* refused,
                                            const std::function<void(const Checkpoint&)>& accept) {
  auto refuse = [&](const std::filesystem::path& path, const std::string& why) {
    if (refused) refused->push_back(why.find(path.string()) != std::string::npos ? why : path.string() + ": " + why);
  };
  // Order the candidates by the step their header records (then by time) without reading their data, and
  // take the first that loads and that `accept` takes. Any failure, a missing file included (another
  // process may prune one while this one lists them), refuses that candidate and moves to the next.
  struct Candidate {
    std::int64_t step;
    std::filesystem::file_time_type time;
    std::filesystem::path path;
  };
  std::vector<Candidate> candidates;
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) return std::nullopt;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const auto& path = it->path();
    if (path.extension() != ".safetensors" || !it->is_regular_file(error)) continue;
    try {
      const StringMap metadata = read_safetensors_metadata(path);
      const auto step = metadata.find("step");
      std::int64_t value = -1;
      if (step != metadata.end()) {
        const auto [end_of_number, parse_error] =
            std::from_chars(step->second.data(), step->second.data() + step->second.size(), value);
        if (parse_error != std::errc() || end_of_number != step->second.data() + step->second.size()) value = -1;
      }
      DESCENT_CHECK(value >= 0, "checkpoint ", path.string(), ": its metadata has no step");
      candidates.push_back({value, std::filesystem::last_write_time(path), path});
    } catch (const std::exception& e) {
      refuse(path, e.what());
    }
  }
  DESCENT_CHECK(!error, "cannot list ", dir.string(), ": ", error.message());
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.step != b.step ? a.step > b.step : a.time > b.time;
  });
  for (const auto& candidate : candidates) {
    try {
      Checkpoint checkpoint = load_checkpoint(candidate.path);
      if (accept) accept(checkpoint);
      return checkpoint;
    } catch (const std::exception& e) {
      refuse(candidate.path, e.what());
    }
  }
  return std::nullopt;
}

}  // namespace descent::train
