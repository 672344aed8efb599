// Feeds arbitrary text to the config reader: TOML parsing, then validation of every section (which also
// asks the optimizer and schedule factories about their options). Any input must give a Config or raise
// descent::Error; a resolved config must survive its TOML round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "descent/core/error.hpp"
#include "descent/train/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = descent::train::parse_config(descent::train::parse_toml(text, "fuzz-input"));
    const auto again = descent::train::parse_config(
        descent::train::parse_toml(descent::train::to_toml(config.resolved), "resolved"));
    if (again.resolved != config.resolved) __builtin_trap();
  } catch (const descent::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  return 0;
}
