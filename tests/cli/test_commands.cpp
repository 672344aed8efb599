// Black-box tests of the `descent` program: output format, exit status and error messages.
#include <gtest/gtest.h>

#include <map>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli/run.hpp"

using descent::testing::last_line;
using descent::testing::run_descent;

namespace {
const std::string kVectors = std::string(DESCENT_SOURCE_DIR) + "/tests/data/vectors";
}

TEST(Vectors, EveryReferenceCasePasses) {
  ASSERT_TRUE(std::filesystem::exists(kVectors)) << "no reference vectors at " << kVectors;
  auto result = run_descent("vectors " + kVectors);
  const std::string summary = last_line(result.output);
  std::smatch match;
  ASSERT_TRUE(std::regex_match(summary, match, std::regex(R"((\d+) passed, (\d+) failed)"))) << summary;
  EXPECT_EQ(match[2].str(), "0") << result.output;
  // Every vendored case runs: none is skipped as unknown.
  int cases = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kVectors))
    cases += entry.path().extension() == ".json";
  EXPECT_GT(cases, 100);
  EXPECT_EQ(std::stoi(match[1].str()), cases) << result.output;
  EXPECT_EQ(result.status, 0);
}

TEST(Vectors, AFailingCaseFailsTheCommand) {
  ASSERT_TRUE(std::filesystem::exists(kVectors)) << "no reference vectors at " << kVectors;
  // A copy of one case with its expected values nudged must be reported and make the exit status non-zero.
  const auto dir = std::filesystem::temp_directory_path() / "descent-vectors-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "optim");
  std::ifstream in(kVectors + "/optim/adam_s100.json");
  auto json = nlohmann::json::parse(in);
  json["expected"][0][0][0] = json["expected"][0][0][0].get<double>() + 1.0;
  std::ofstream(dir / "optim" / "adam_nudged.json") << json.dump();
  std::ofstream(dir / "optim" / "broken.json") << "{ not json";
  std::filesystem::create_directories(dir / "scaler");
  std::ifstream scaler_in(kVectors + "/scaler/audit_backoff_not_dyadic.json");
  auto scaler = nlohmann::json::parse(scaler_in);
  scaler["steps"][1]["expected_scale"] = 53084.15625;  // the value of a scale rounded twice
  std::ofstream(dir / "scaler" / "scaler_nudged.json") << scaler.dump();
  auto result = run_descent("vectors " + dir.string());
  EXPECT_NE(result.status, 0);
  EXPECT_EQ(last_line(result.output), "0 passed, 3 failed") << result.output;
  EXPECT_NE(result.output.find("scaler_nudged"), std::string::npos);
  EXPECT_NE(result.output.find("adam_nudged"), std::string::npos);
  EXPECT_NE(result.output.find("broken"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Schedule, PrintsValuesAsCsvAndJson) {
  auto csv = run_descent("schedule steplr --steps 4 --base-lr 1 --option step_size=2 --option gamma=0.5");
  ASSERT_EQ(csv.status, 0) << csv.output;
  EXPECT_NE(csv.output.find("step,lr"), std::string::npos);
  EXPECT_NE(csv.output.find("3,0.5"), std::string::npos) << csv.output;
  auto json = run_descent("schedule cosineannealinglr --steps 3 --option T_max=2 --format json");
  ASSERT_EQ(json.status, 0) << json.output;
  EXPECT_TRUE(nlohmann::json::accept(json.output)) << json.output;
}

TEST(Schedule, UnknownNameIsAClearError) {
  auto result = run_descent("schedule cosine_anneal --steps 3");
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.output.find("cosine_anneal"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("cosineannealinglr"), std::string::npos) << result.output;
}

TEST(BenchStep, PrintsOneJsonObject) {
  auto result = run_descent("bench step --model simplenet --steps 50 --warmup 5");
  ASSERT_EQ(result.status, 0) << result.output;
  auto json = nlohmann::json::parse(last_line(result.output));
  EXPECT_GT(json["ms_per_step"].get<double>(), 0.0);
  EXPECT_EQ(json["model"], "simplenet");
}

TEST(BenchStep, MixedPrecisionPresetsKeepFewerActivationBytes) {
  std::map<std::string, nlohmann::json> runs;
  for (const char* precision : {"fp32", "bf16", "fp16"}) {
    auto result = run_descent(std::string("bench step --model cnn2c2d --batch 16 --steps 2 --warmup 1 --precision ") +
                              precision);
    ASSERT_EQ(result.status, 0) << result.output;
    runs[precision] = nlohmann::json::parse(last_line(result.output));
    EXPECT_EQ(runs[precision]["precision"], precision);
    EXPECT_EQ(runs[precision]["steps_skipped"], 0);
  }
  for (const char* precision : {"bf16", "fp16"}) {
    EXPECT_LE(runs[precision]["activation_bytes"].get<double>(), 0.55 * runs["fp32"]["activation_bytes"].get<double>());
    EXPECT_GT(runs[precision]["weight_copy_bytes"].get<double>(), 0.0);
  }
  auto bad = run_descent("bench step --model mlp --precision fp8");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("fp8"), std::string::npos) << bad.output;
}

TEST(Program, ZeroForAPositiveOptionNamesTheOptionAndWhatItWants) {
  auto result = run_descent("bench optim --algo sgd --params 1000 --tensors 1 --rows 0 --steps 1");
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.output.find("--rows: expected a number greater than 0, got '0'"), std::string::npos)
      << result.output;
}

TEST(Program, UnknownSubcommandFails) {
  auto result = run_descent("frobnicate");
  EXPECT_NE(result.status, 0);
}

TEST(LrFind, WritesTheCurveAndSuggestions) {
  const auto dir = std::filesystem::temp_directory_path() / "descent-lr-find-test";
  std::filesystem::remove_all(dir);
  auto result = run_descent("lr-find " + std::string(DESCENT_SOURCE_DIR) + "/examples/seeds-regression.toml --out " +
                            dir.string() + " --iterations 120 --start-lr 1e-6 --end-lr 10");
  ASSERT_EQ(result.status, 0) << result.output;
  auto summary = nlohmann::json::parse(last_line(result.output));
  EXPECT_TRUE(summary["suggestions"].contains("valley")) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "lr_find.csv"));
  std::ifstream in(dir / "lr_find.json");
  auto curve = nlohmann::json::parse(in);
  EXPECT_EQ(curve["lr"].size(), curve["smoothed_loss"].size());
  EXPECT_GT(curve["lr"].size(), 20u);
  std::filesystem::remove_all(dir);
}

TEST(LrFind, MissingConfigIsAnError) {
  auto result = run_descent("lr-find /nonexistent/config.toml");
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.output.find("/nonexistent/config.toml"), std::string::npos) << result.output;
}

TEST(Train, BFloat16StateWithDecayGroups) {
  // examples/fashion-mnist-mlp.toml splits decay and no-decay groups; the storage option applies to both.
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const auto dir = std::filesystem::temp_directory_path() / "descent-bf16-test";
  std::filesystem::remove_all(dir);
  auto result = run_descent("train " + std::string(DESCENT_SOURCE_DIR) +
                            "/examples/fashion-mnist-mlp.toml --set optimizer.state_dtype=bfloat16 "
                            "--set data.train_subset=2000 --set data.test_subset=500 --set trainer.epochs=1 --set schedule.warmup_steps=3 "
                            "--progress none --out " + dir.string());
  ASSERT_EQ(result.status, 0) << result.output;
  auto summary = nlohmann::json::parse(last_line(result.output));
  EXPECT_GT(summary["test"]["test_accuracy"].get<double>(), 0.5);
  std::filesystem::remove_all(dir);
}
