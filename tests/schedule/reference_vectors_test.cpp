// Runs every case of tests/data/vectors/schedule (PyTorch 2.11 reference values) against the library.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "descent/schedule/reference_case.hpp"

namespace {

namespace fs = std::filesystem;

TEST(ScheduleReferenceVectors, EveryCaseMatches) {
  const fs::path folder = fs::path(DESCENT_SOURCE_DIR) / "tests" / "data" / "vectors" / "schedule";
  ASSERT_TRUE(fs::is_directory(folder)) << "no reference vectors at " << folder;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no .json cases in " << folder;
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    const auto reference = nlohmann::json::parse(in);
    const auto result = descent::schedule::check_reference_case(reference);
    EXPECT_TRUE(result.passed) << result.detail;
    std::cout << "  " << result.detail << "\n";
  }
}

// The checker itself must be able to fail: nudge one expected value past the tolerance.
TEST(ScheduleReferenceVectors, CheckerReportsAMismatch) {
  nlohmann::json reference = {{"schedule", "steplr"},
                              {"options", {{"step_size", 2}, {"gamma", 0.5}}},
                              {"base_lr", 0.1},
                              {"steps", 4},
                              {"expected_lr", {0.1, 0.1, 0.05, 0.05}},
                              {"rtol", 1e-6},
                              {"atol", 1e-9}};
  EXPECT_TRUE(descent::schedule::check_reference_case(reference).passed);
  reference["expected_lr"][2] = 0.05 * (1 + 1e-5);
  const auto result = descent::schedule::check_reference_case(reference);
  EXPECT_FALSE(result.passed);
  EXPECT_NE(result.detail.find("expected_lr[2]"), std::string::npos) << result.detail;
}

TEST(ScheduleReferenceVectors, CaseNamesMapToFactoryNames) {
  using descent::schedule::reference_schedule_name;
  EXPECT_EQ(reference_schedule_name("cycliclr_exp_range"), "cycliclr");
  EXPECT_EQ(reference_schedule_name("onecyclelr_linear_three_phase"), "onecyclelr");
  EXPECT_EQ(reference_schedule_name("sequential_warmup_cosine"), "sequentiallr");
  EXPECT_EQ(reference_schedule_name("chained_constant_exponential"), "chainedscheduler");
  EXPECT_EQ(reference_schedule_name("warmup_stable_decay"), "warmup_stable_decay");
  EXPECT_EQ(reference_schedule_name("steplr"), "steplr");
}

}  // namespace
