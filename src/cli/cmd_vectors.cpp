// `descent vectors [DIR]`: runs every reference case under DIR/optim, schedule, clip and scaler, prints one
// line per case (`PASS optim/adam_s100` or `FAIL optim/x: detail`) and a final `N passed, N failed`; the
// exit status is 1 when any case failed or could not run.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "descent/core/error.hpp"
#include "descent/vectors/optim.hpp"
#include "descent/vectors/schedule.hpp"
#include "descent/vectors/clip.hpp"
#include "descent/vectors/scaler.hpp"

namespace descent::cli {
namespace {

vectors::CaseResult run_case(const std::string& kind, const nlohmann::json& spec) {
  if (kind == "optim") return vectors::run_optim_case(spec);
  if (kind == "schedule") return vectors::run_schedule_case(spec);
  if (kind == "clip") return vectors::run_clip_case(spec);
  if (kind == "scaler") return vectors::run_scaler_case(spec);
  return {false, "not implemented"};
}

// The vendored cases: tests/data/vectors under the working directory (a checkout), else where the build
// or the installed package put them (DESCENT_VECTORS_DIR, set by CMake).
std::string default_vectors_dir() {
  namespace fs = std::filesystem;
  if (fs::is_directory("tests/data/vectors")) return "tests/data/vectors";
  DESCENT_CHECK(fs::is_directory(DESCENT_VECTORS_DIR), "vectors: no DIR given, and neither ./tests/data/vectors nor ",
                DESCENT_VECTORS_DIR, " exists; expected the folder that holds optim/, schedule/ and clip/");
  return DESCENT_VECTORS_DIR;
}

void run_vectors(const std::string& dir) {
  namespace fs = std::filesystem;
  DESCENT_CHECK(fs::is_directory(dir), "vectors: '", dir, "' is not a directory; expected the folder that holds ",
                "optim/, schedule/ and clip/");
  int passed = 0, failed = 0;
  for (const std::string kind : {"optim", "schedule", "clip", "scaler"}) {
    const fs::path folder = fs::path(dir) / kind;
    if (!fs::is_directory(folder)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const std::string label = kind + "/" + file.stem().string();
      vectors::CaseResult result;
      try {
        std::ifstream in(file);
        result = run_case(kind, nlohmann::json::parse(in));
      } catch (const std::exception& e) {
        result = {false, std::string("could not run: ") + e.what()};
      }
      if (result.passed) {
        ++passed;
        std::cout << "PASS " << label << "\n";
      } else {
        ++failed;
        std::cout << "FAIL " << label << ": " << result.detail << "\n";
      }
    }
  }
  std::cout << passed << " passed, " << failed << " failed" << std::endl;
  if (failed > 0) exit_status() = 1;
}

RegisterCommand reg{"vectors", "check the optimizers, schedules and clipping against reference vectors",
                    [](CLI::App& sub) {
                      auto dir = std::make_shared<std::string>();
                      sub.add_option("dir", *dir,
                                     "folder holding optim/, schedule/, clip/ and scaler/ (default: the vendored "
                                     "tests/data/vectors)");
                      sub.callback([dir] { run_vectors(dir->empty() ? default_vectors_dir() : *dir); });
                    }};

}  // namespace
}  // namespace descent::cli
