// Feeds arbitrary text to the config reader: TOML parsing, `--set` overrides, then validation of every
// section (which also asks the optimizer and schedule factories about their options). Lines after a line
// "--set" are applied as overrides, one `key.path=value` per line. Any input must give a Config or raise
// descent::Error; a resolved config must survive its TOML round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "descent/core/error.hpp"
#include "descent/train/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view overrides;
  if (const auto mark = text.find("\n--set\n"); mark != std::string_view::npos) {
    overrides = text.substr(mark + 7);
    text = text.substr(0, mark);
  }
  try {
    auto raw = descent::train::parse_toml(text, "fuzz-input");
    while (!overrides.empty()) {
      const auto end = overrides.find('\n');
      descent::train::apply_override(raw, std::string(overrides.substr(0, end)));
      overrides = end == std::string_view::npos ? std::string_view() : overrides.substr(end + 1);
    }
    const auto config = descent::train::parse_config(raw);
    const auto again = descent::train::parse_config(
        descent::train::parse_toml(descent::train::to_toml(config.resolved), "resolved"));
    if (again.resolved != config.resolved) __builtin_trap();
  } catch (const descent::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  return 0;
}
