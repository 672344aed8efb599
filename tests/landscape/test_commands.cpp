// `descent landscape`, `descent sharpness` and `descent regularization` end to end on tiny synthetic runs,
// and their errors for bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/run.hpp"
#include "train/temp_folder.hpp"

using descent::testing::run_descent;
using nlohmann::json;

namespace {

const char* kMoons = R"(
name = "moons"
seed = 3
[data]
dataset = "two_moons"
samples = 300
batch_size = 32
[model]
hidden = [8]
[optimizer]
name = "sgd"
lr = 0.1
[trainer]
epochs = 2
progress = "none"
)";

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return json::parse(in);
}

std::filesystem::path write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(LandscapeCommand, WritesLandscapeJsonOfATrainedRun) {
  TempFolder folder;
  const auto config = write_file(folder.path() / "moons.toml", kMoons);
  const auto run = folder.path() / "run";
  const auto trained = run_descent("train " + config.string() + " --out " + run.string() + " --progress none");
  ASSERT_EQ(trained.status, 0) << trained.output;

  const auto result = run_descent("landscape " + run.string() +
                                  " --samples 60 --grid 4 --range 0.5 --line-points 5 --hessian-iters 4 --seed 2");
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("top Hessian eigenvalue: "), std::string::npos) << result.output;
  const auto file = run / "landscape" / "landscape.json";
  EXPECT_NE(result.output.find(file.string()), std::string::npos) << result.output;
  const json landscape = read_json(file);
  EXPECT_EQ(landscape["kind"], "landscape");
  EXPECT_EQ(landscape["run_dir"], run.string());
  EXPECT_EQ(landscape["line"]["alphas"], json({-0.25, 0.125, 0.5, 0.875, 1.25}));
  EXPECT_EQ(landscape["line"]["train_loss"].size(), 5u);
  EXPECT_EQ(landscape["line"]["val_loss"].size(), 5u);
  EXPECT_EQ(landscape["surface"]["x"], json({-0.5, -0.5 + 1.0 / 3, -0.5 + 2.0 / 3, 0.5}));
  ASSERT_EQ(landscape["surface"]["loss"].size(), 4u);
  for (const auto& row : landscape["surface"]["loss"]) EXPECT_EQ(row.size(), 4u);
  EXPECT_EQ(landscape["surface"]["normalization"], "filter");
  EXPECT_TRUE(landscape["hessian"]["top_eigenvalue"].is_number());
  EXPECT_GE(landscape["hessian"]["iterations"].size(), 1u);
  EXPECT_LE(landscape["hessian"]["iterations"].size(), 4u);
  EXPECT_TRUE(landscape["hessian"]["method"].is_string());
  EXPECT_EQ(landscape["samples"]["train"], 60);
}

TEST(LandscapeCommand, BadInputGivesClearErrors) {
  TempFolder folder;
  auto result = run_descent("landscape " + (folder.path() / "missing").string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("no such folder"), std::string::npos) << result.output;

  const auto untrained = folder.path() / "untrained";
  std::filesystem::create_directories(untrained);
  write_file(untrained / "config.toml", kMoons);
  result = run_descent("landscape " + untrained.string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("no checkpoint last.safetensors"), std::string::npos) << result.output;

  result = run_descent("landscape " + untrained.string() + " --grid 1");
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("--grid 1: expected an integer in [2, 201]"), std::string::npos) << result.output;

  result = run_descent("landscape " + untrained.string() + " --grid many");
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.output.find("--grid"), std::string::npos) << result.output;
}

TEST(SharpnessCommand, TrainsEachOptimizerAndRecordsItsTopEigenvalue) {
  TempFolder folder;
  const auto config = write_file(folder.path() / "sharpness.toml", std::string(kMoons) + R"(
[sharpness]
samples = 50
hessian_iterations = 3
[[sharpness.runs]]
label = "SGD"
optimizer = { name = "sgd", lr = 0.1 }
[[sharpness.runs]]
label = "Adam"
optimizer = { name = "adam", lr = 0.01 }
)");
  const auto out = folder.path() / "study";
  const auto result = run_descent("sharpness " + config.string() + " --out " + out.string());
  ASSERT_EQ(result.status, 0) << result.output;
  const json sharpness = read_json(out / "sharpness.json");
  EXPECT_EQ(sharpness["kind"], "sharpness");
  ASSERT_EQ(sharpness["runs"].size(), 2u);
  EXPECT_EQ(sharpness["runs"][0]["label"], "SGD");
  EXPECT_EQ(sharpness["runs"][1]["optimizer"], "adam");
  for (const auto& run : sharpness["runs"]) {
    EXPECT_TRUE(run["top_eigenvalue"].is_number());
    EXPECT_TRUE(std::filesystem::exists(out / run["run_dir"].get<std::string>() / "epochs.csv"));
    EXPECT_TRUE(run["final"]["val_loss"].is_number());
  }
  EXPECT_NE(sharpness["runs"][0]["top_eigenvalue"], sharpness["runs"][1]["top_eigenvalue"]);

  write_file(config, std::string(kMoons) + "[sharpness]\nsample = 5\n");
  const auto bad = run_descent("sharpness " + config.string() + " --out " + (folder.path() / "bad").string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("unknown key sharpness.sample (did you mean sharpness.samples?)"), std::string::npos) << bad.output;
}

TEST(RegularizationCommand, TrainsEachVariantAndRecordsTheGap) {
  TempFolder folder;
  const auto config = write_file(folder.path() / "regularization.toml", std::string(kMoons) + R"(
[[regularization.variants]]
name = "baseline"
[[regularization.variants]]
name = "dropout"
overrides = ["model.dropout=0.5"]
)");
  const auto out = folder.path() / "study";
  const auto result = run_descent("regularization " + config.string() + " --out " + out.string());
  ASSERT_EQ(result.status, 0) << result.output;
  const json regularization = read_json(out / "regularization.json");
  EXPECT_EQ(regularization["kind"], "regularization");
  ASSERT_EQ(regularization["variants"].size(), 2u);
  for (const auto& v : regularization["variants"]) {
    const auto& f = v["final"];
    EXPECT_NEAR(v["gap"]["loss"].get<double>(), f["val_loss"].get<double>() - f["train_loss"].get<double>(), 1e-12);
    EXPECT_NEAR(v["gap"]["accuracy"].get<double>(), f["train_accuracy"].get<double>() - f["val_accuracy"].get<double>(), 1e-12);
    EXPECT_TRUE(std::filesystem::exists(out / v["run_dir"].get<std::string>() / "epochs.csv"));
  }
  // The dropout variant's config really has dropout.
  std::ifstream resolved(out / "runs" / "dropout" / "config.toml");
  const std::string text((std::istreambuf_iterator<char>(resolved)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("dropout = 0.5"), std::string::npos) << text;

  write_file(config, std::string(kMoons) + "[[regularization.variants]]\nname = \"x\"\noverrides = [\"model.dropout\"]\n");
  const auto bad = run_descent("regularization " + config.string() + " --out " + (folder.path() / "bad").string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("regularization.variants[0].overrides = [\"model.dropout\"]: expected an array of \"key.path=value\" strings"), std::string::npos) << bad.output;
}
