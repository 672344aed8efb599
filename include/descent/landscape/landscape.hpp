#pragma once
// Loss landscapes of a trained network (docs/LANDSCAPE.md):
//   line:    the loss along theta(alpha) = theta_0 + alpha (theta_1 - theta_0) from the initial weights
//            (alpha = 0) to the trained ones (alpha = 1) and beyond (Goodfellow, Vinyals, Saxe 2015);
//   surface: the loss on the plane theta_1 + x d_1 + y d_2 spanned by two filter-normalised random
//            directions (Li et al. 2018; see parameters.hpp), drawn as a contour plot;
//   hessian: the top Hessian eigenvalue at theta_1 (see hessian.hpp).
// The initial weights are not stored in a run folder: they are rebuilt from the run's config, since the
// model's weights are a function of config.seed alone (tests/landscape checks this against a run trained
// with lr = 0).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descent/landscape/hessian.hpp"
#include "descent/landscape/probe.hpp"
#include "descent/train/config.hpp"

namespace descent::landscape {

using StateDict = std::map<std::string, Tensor>;

// A finished run's model: the weights of one checkpoint, and the initial weights rebuilt from its seed.
struct RunModel {
  train::Config config;
  train::DataSplits splits;
  std::shared_ptr<nn::Module> model;  // holds the trained weights
  StateDict initial_state, trained_state;
  train::LossFunction loss;
  std::filesystem::path checkpoint_file;
  std::int64_t step = 0;
};

// `checkpoint`: "best" (falling back to "last" when the run saved no best), "last", or a file path.
// Throws descent::Error naming the folder or file when the folder, its config or the checkpoint is missing.
RunModel load_run_model(const std::filesystem::path& run_dir, const std::string& checkpoint);
// The checkpoint file `checkpoint` names for the run.
std::filesystem::path resolve_checkpoint(const std::filesystem::path& run_dir, const std::string& checkpoint);

std::vector<double> linspace(double start, double end, std::int64_t points);

struct LineResult {
  std::vector<double> alphas, train_loss, val_loss;
};
// Loads each interpolated state (parameters and buffers: alpha = 0 is exactly the initial model, alpha = 1
// the trained one) into `model` and evaluates the probes; `model` ends holding `trained`.
LineResult loss_along_line(nn::Module& model, const StateDict& initial, const StateDict& trained,
                           const std::vector<double>& alphas, const LossProbe& train_probe,
                           const LossProbe& val_probe);

struct SurfaceResult {
  std::vector<double> x, y;
  std::vector<std::vector<double>> loss;  // loss[i][j] at (x[j], y[i])
};
// The loss at the model's parameters + x d_1 + y d_2 for every grid point (buffers stay as they are);
// the parameters are restored afterwards.
SurfaceResult loss_surface(nn::Module& model, const FlatVector& direction_x, const FlatVector& direction_y,
                           const std::vector<double>& xs, const std::vector<double>& ys, const LossProbe& probe);

struct LandscapeOptions {
  std::string checkpoint = "best";
  std::int64_t samples = 1000;        // training samples of the probe (0: all); validation uses all
  std::int64_t grid = 21;             // surface points per axis
  double range = 1.0;                 // surface axes span [-range, range]
  std::int64_t line_points = 31;
  double line_start = -0.25, line_end = 1.25;
  PowerIterationOptions hessian;      // its seed is taken from `seed`
  std::uint64_t seed = 0;             // directions and the power iteration's starting vector
};
void validate(const LandscapeOptions& options);

// Computes the landscape of a run (the landscape.json object of docs/FORMATS.md, with a few additions:
// checkpoint, step, samples, options). Progress lines go to `progress` when given.
nlohmann::json compute_landscape(const std::filesystem::path& run_dir, const LandscapeOptions& options,
                                 std::FILE* progress = nullptr);

// Writes `value` to `path` atomically (NAME.tmp then rename); non-finite numbers become null.
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& value);

}  // namespace descent::landscape
