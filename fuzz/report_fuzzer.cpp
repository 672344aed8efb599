// Feeds arbitrary text to `descent report` as each of the JSON files it reads (run summary, comparison,
// study, trajectories, momentum study, landscape, sharpness, regularization, lr_find), chosen by the
// first byte, then renders the page. Any input must give a page or raise descent::Error.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "descent/core/error.hpp"
#include "descent/report/page.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const char* files[] = {"summary.json",   "comparison.json", "study.json",          "trajectories.json", "momentum.json",
                                "landscape.json", "sharpness.json",  "regularization.json", "lr_find.json"};
  if (size == 0) return 0;
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("descent-fuzz-report-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string file = files[data[0] % (sizeof files / sizeof files[0])];
  std::ofstream(dir / file, std::ios::binary).write(reinterpret_cast<const char*>(data + 1), std::streamsize(size - 1));
  if (file == "summary.json") std::ofstream(dir / "metrics.jsonl") << "{\"kind\":\"epoch\",\"epoch\":1,\"step\":3,\"val_loss\":0.5}\n";
  try {
    (void)descent::report::render_page(descent::report::report_data(dir));
  } catch (const descent::Error&) {
    // Rejected with a message naming the file: the expected outcome for malformed input.
  }
  return 0;
}
