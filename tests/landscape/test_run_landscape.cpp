// Landscapes of real run folders through the library: the initial weights rebuilt from the seed, the line
// endpoints, the surface centre, and clear errors for folders that are not finished runs.
#include <gtest/gtest.h>

#include <fstream>

#include "descent/landscape/landscape.hpp"
#include "descent/train/run.hpp"
#include "train/temp_folder.hpp"

using namespace descent;
using namespace descent::landscape;

namespace {

std::string moons_config(double lr) {
  return R"(
name = "moons"
seed = 5
[data]
dataset = "two_moons"
samples = 300
batch_size = 32
[model]
hidden = [8]
norm = "batch"
[optimizer]
name = "sgd"
momentum = 0.9
lr = )" + std::to_string(lr) + R"(
[trainer]
epochs = 2
progress = "none"
)";
}

std::filesystem::path train_moons(const TempFolder& folder, double lr, const std::string& name) {
  const auto dir = folder.path() / name;
  train::train_run(train::parse_config(train::parse_toml(moons_config(lr), "test")), dir);
  return dir;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

// The model is rebuilt from config.seed: a run trained with lr = 0 ends with exactly its initial weights
// (SGD with lr 0 moves nothing), so the rebuilt initial state must equal its checkpoint's parameters.
TEST(RunLandscape, InitialWeightsRebuiltFromTheSeedEqualTheWeightsAtStepZero) {
  TempFolder folder;
  const auto frozen = load_run_model(train_moons(folder, 0.0, "frozen"), "last");
  for (const auto& [name, p] : frozen.model->named_parameters())
    EXPECT_EQ(frozen.initial_state.at(name).to_vector<double>(), frozen.trained_state.at(name).to_vector<double>()) << name;
  // A run that learned has moved away from the same initial weights.
  const auto trained = load_run_model(train_moons(folder, 0.1, "trained"), "last");
  EXPECT_EQ(trained.initial_state.at("0.weight").to_vector<double>(), frozen.initial_state.at("0.weight").to_vector<double>());
  EXPECT_NE(trained.trained_state.at("0.weight").to_vector<double>(), trained.initial_state.at("0.weight").to_vector<double>());
  EXPECT_GT(trained.step, 0);
}

TEST(RunLandscape, LineEndpointsAreTheInitialAndTrainedLossesAndTheSurfaceCentreIsTheTrainedLoss) {
  TempFolder folder;
  RunModel run = load_run_model(train_moons(folder, 0.1, "run"), "last");
  nn::Module& model = *run.model;
  const LossProbe train_probe(*run.splits.train, 100, 1000, run.loss);
  const LossProbe val_probe(*run.splits.validation, 0, 1000, run.loss);

  model.load_state_dict(run.initial_state);
  const double initial_train = train_probe.loss(model), initial_val = val_probe.loss(model);
  model.load_state_dict(run.trained_state);
  const double trained_train = train_probe.loss(model), trained_val = val_probe.loss(model);
  EXPECT_LT(trained_train, initial_train);

  const LineResult line = loss_along_line(model, run.initial_state, run.trained_state, linspace(-0.5, 1.5, 5),
                                          train_probe, val_probe);
  ASSERT_EQ(line.alphas, (std::vector<double>{-0.5, 0.0, 0.5, 1.0, 1.5}));
  EXPECT_DOUBLE_EQ(line.train_loss[1], initial_train);
  EXPECT_DOUBLE_EQ(line.val_loss[1], initial_val);
  EXPECT_DOUBLE_EQ(line.train_loss[3], trained_train);
  EXPECT_DOUBLE_EQ(line.val_loss[3], trained_val);
  EXPECT_NE(line.train_loss[2], trained_train);

  Generator gen(1);
  const FlatVector dx = filter_normalized_direction(model, gen), dy = filter_normalized_direction(model, gen);
  const FlatVector before = get_parameters(model);
  const SurfaceResult surface = loss_surface(model, dx, dy, linspace(-1, 1, 3), linspace(-1, 1, 3), train_probe);
  ASSERT_EQ(surface.loss.size(), 3u);
  ASSERT_EQ(surface.loss[1].size(), 3u);
  EXPECT_DOUBLE_EQ(surface.loss[1][1], trained_train);
  EXPECT_NE(surface.loss[0][0], trained_train);
  EXPECT_EQ(get_parameters(model), before);
}

TEST(RunLandscape, ComputeLandscapeFillsTheFormat) {
  TempFolder folder;
  LandscapeOptions options;
  options.samples = 50;
  options.grid = 3;
  options.line_points = 4;
  options.hessian.max_iterations = 3;
  const auto result = compute_landscape(train_moons(folder, 0.1, "run"), options);
  EXPECT_EQ(result["kind"], "landscape");
  EXPECT_EQ(result["line"]["alphas"].size(), 4u);
  EXPECT_EQ(result["line"]["val_loss"].size(), 4u);
  EXPECT_EQ(result["surface"]["loss"].size(), 3u);
  EXPECT_EQ(result["surface"]["normalization"], "filter");
  EXPECT_LE(result["hessian"]["iterations"].size(), 3u);
  EXPECT_TRUE(result["hessian"]["top_eigenvalue"].is_number());
}

TEST(RunLandscape, MissingFoldersConfigsAndCheckpointsAreClearErrors) {
  TempFolder folder;
  EXPECT_NE(error_of([&] { load_run_model(folder.path() / "nowhere", "best"); }).find("no such folder"), std::string::npos);
  EXPECT_NE(error_of([&] { load_run_model(folder.path(), "best"); }).find("no config.toml"), std::string::npos);
  std::ofstream(folder.path() / "config.toml") << moons_config(0.1);
  EXPECT_NE(error_of([&] { load_run_model(folder.path(), "best"); }).find("no checkpoint last.safetensors"), std::string::npos);
  EXPECT_NE(error_of([&] { load_run_model(folder.path(), "middle"); }).find("expected best, last or a .safetensors file"),
            std::string::npos);
  LandscapeOptions bad;
  bad.grid = 1;
  EXPECT_NE(error_of([&] { validate(bad); }).find("--grid 1"), std::string::npos);
}
