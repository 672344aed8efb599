// Feeds arbitrary bytes to the safetensors reader (header length, JSON header, offsets, metadata, checksum).
// Any input must decode or raise descent::Error; the checkpoint's trainer metadata is parsed as JSON too.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "descent/core/error.hpp"
#include "descent/train/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto content = descent::train::decode_safetensors(bytes, "fuzz-input");
    for (const auto& [name, tensor] : content.tensors) (void)tensor.numel();
    const auto trainer = content.metadata.find("trainer");
    if (trainer != content.metadata.end()) (void)nlohmann::json::parse(trainer->second, nullptr, false);
    // What was read must encode again and decode to the same tensors.
    const auto again = descent::train::decode_safetensors(
        descent::train::encode_safetensors(content.tensors, content.metadata), "re-encoded");
    if (again.tensors.size() != content.tensors.size() || !again.checksum_verified) __builtin_trap();
  } catch (const descent::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  return 0;
}
