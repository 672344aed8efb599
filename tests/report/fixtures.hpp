#pragma once
// The report's fixture folders (tests/report/fixtures/, made by generate.py there): one valid folder per
// kind in docs/FORMATS.md, and scratch folders in the build tree for what the tests write.
#include <filesystem>
#include <string>
#include <vector>

namespace descent::testing {

struct ReportFixture {
  std::string folder;  // under tests/report/fixtures/
  std::string kind;    // what report::folder_kind answers
};

inline const std::vector<ReportFixture>& report_fixtures() {
  static const std::vector<ReportFixture> fixtures = {
      {"run", "run"},                   {"lr_find", "lr_find"},
      {"comparison", "comparison"},     {"study", "study"},
      {"trajectories", "trajectories"}, {"momentum", "momentum_study"},
      {"landscape", "landscape"},       {"sharpness", "sharpness"},
      {"regularization", "regularization"}};
  return fixtures;
}

inline std::filesystem::path fixture_dir(const std::string& folder) {
  return std::filesystem::path(DESCENT_SOURCE_DIR) / "tests" / "report" / "fixtures" / folder;
}

// An empty folder build/report-test/NAME (emptied when it exists).
inline std::filesystem::path scratch_dir(const std::string& name) {
  const auto dir = std::filesystem::path(DESCENT_BINARY_DIR) / "report-test" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace descent::testing
