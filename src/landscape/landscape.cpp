#include "descent/landscape/landscape.hpp"

#include <chrono>
#include <cmath>

#include "descent/core/parallel.hpp"
#include "descent/train/checkpoint.hpp"

namespace descent::landscape {

namespace {

StateDict cloned_state(const nn::Module& model) {
  StateDict state;
  for (const auto& [name, tensor] : model.state_dict()) state.emplace(name, tensor.clone());
  return state;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Non-finite losses (a diverged point) are null in the files.
nlohmann::json numbers(const std::vector<double>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (double v : values) out.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr));
  return out;
}

}  // namespace

std::filesystem::path resolve_checkpoint(const std::filesystem::path& run_dir, const std::string& checkpoint) {
  if (checkpoint != "best" && checkpoint != "last") {
    DESCENT_CHECK(std::filesystem::is_regular_file(checkpoint), "checkpoint ", checkpoint,
                  ": no such file (expected best, last or a .safetensors file)");
    return checkpoint;
  }
  const auto folder = run_dir / "checkpoints";
  auto file = folder / (checkpoint + ".safetensors");
  if (checkpoint == "best" && !std::filesystem::exists(file)) file = folder / "last.safetensors";
  DESCENT_CHECK(std::filesystem::is_regular_file(file), "run folder ", run_dir.string(), ": no checkpoint ",
                file.filename().string(), " in ", folder.string(), " (has the run finished an epoch?)");
  return file;
}

RunModel load_run_model(const std::filesystem::path& run_dir, const std::string& checkpoint) {
  DESCENT_CHECK(std::filesystem::is_directory(run_dir), "run folder ", run_dir.string(),
                ": no such folder (expected a folder written by `descent train`)");
  DESCENT_CHECK(std::filesystem::is_regular_file(run_dir / "config.toml"), "run folder ", run_dir.string(),
                ": no config.toml (expected a folder written by `descent train`)");
  RunModel run;
  run.config = train::parse_config(train::load_toml(run_dir / "config.toml"));
  run.checkpoint_file = resolve_checkpoint(run_dir, checkpoint);
  if (run.config.trainer.threads > 0) set_num_threads(int(run.config.trainer.threads));
  run.splits = train::build_datasets(run.config.data, run.config.seed);
  // The same call the trainer makes: the weights are a function of the seed, so this is the run's step 0.
  run.model = train::build_model(run.config.model, run.splits.sample_shape, run.splits.num_outputs, run.config.seed);
  run.initial_state = cloned_state(*run.model);
  const train::Checkpoint saved = train::load_checkpoint(run.checkpoint_file);
  train::TensorMap weights;
  for (const auto& [name, tensor] : saved.state.tensors)
    if (name.starts_with("model.")) weights.emplace(name.substr(6), tensor);
  run.model->load_state_dict(weights);
  run.trained_state = cloned_state(*run.model);
  run.step = saved.step;
  run.loss = train::build_loss(run.config.trainer, run.splits.classification);
  return run;
}

std::vector<double> linspace(double start, double end, std::int64_t points) {
  DESCENT_CHECK(points >= 2, "linspace: ", points, " points: expected at least 2");
  std::vector<double> out(static_cast<std::size_t>(points));
  for (std::int64_t i = 0; i < points; ++i) out[std::size_t(i)] = start + (end - start) * double(i) / double(points - 1);
  return out;
}

LineResult loss_along_line(nn::Module& model, const StateDict& initial, const StateDict& trained,
                           const std::vector<double>& alphas, const LossProbe& train_probe,
                           const LossProbe& val_probe) {
  LineResult line;
  line.alphas = alphas;
  for (double alpha : alphas) {
    model.load_state_dict(interpolate_state(initial, trained, alpha));
    line.train_loss.push_back(train_probe.loss(model));
    line.val_loss.push_back(val_probe.loss(model));
  }
  model.load_state_dict(trained);
  return line;
}

SurfaceResult loss_surface(nn::Module& model, const FlatVector& direction_x, const FlatVector& direction_y,
                           const std::vector<double>& xs, const std::vector<double>& ys, const LossProbe& probe) {
  const FlatVector center = get_parameters(model);
  DESCENT_CHECK(direction_x.size() == center.size() && direction_y.size() == center.size(),
                "loss surface: directions of ", direction_x.size(), " and ", direction_y.size(),
                " elements for a model of ", center.size(), " parameters");
  SurfaceResult surface{xs, ys, {}};
  FlatVector point(center.size());
  try {
    for (double y : ys) {
      std::vector<double> row;
      for (double x : xs) {
        for (std::size_t k = 0; k < point.size(); ++k) point[k] = center[k] + x * direction_x[k] + y * direction_y[k];
        set_parameters(model, point);
        row.push_back(probe.loss(model));
      }
      surface.loss.push_back(std::move(row));
    }
  } catch (...) {
    set_parameters(model, center);
    throw;
  }
  set_parameters(model, center);
  return surface;
}

void validate(const LandscapeOptions& o) {
  DESCENT_CHECK(o.samples >= 0, "landscape: --samples ", o.samples, ": expected 0 (all) or a positive count");
  DESCENT_CHECK(o.grid >= 2 && o.grid <= 201, "landscape: --grid ", o.grid, ": expected an integer in [2, 201]");
  DESCENT_CHECK(std::isfinite(o.range) && o.range > 0, "landscape: --range ", o.range, ": expected a positive number");
  DESCENT_CHECK(o.line_points >= 2 && o.line_points <= 1001, "landscape: --line-points ", o.line_points,
                ": expected an integer in [2, 1001]");
  DESCENT_CHECK(std::isfinite(o.line_start) && std::isfinite(o.line_end) && o.line_start < o.line_end,
                "landscape: line from ", o.line_start, " to ", o.line_end, ": expected finite start < end");
  DESCENT_CHECK(o.hessian.max_iterations >= 1 && o.hessian.max_iterations <= 1000, "landscape: --hessian-iters ",
                o.hessian.max_iterations, ": expected an integer in [1, 1000]");
  DESCENT_CHECK(o.hessian.tolerance >= 0, "landscape: hessian tolerance ", o.hessian.tolerance, ": expected >= 0");
  DESCENT_CHECK(o.hessian.epsilon_scale > 0, "landscape: hessian epsilon_scale ", o.hessian.epsilon_scale,
                ": expected a positive number");
}

nlohmann::json compute_landscape(const std::filesystem::path& run_dir, const LandscapeOptions& options,
                                 std::FILE* progress) {
  validate(options);
  const auto report = [progress](const std::string& line) {
    if (progress) std::fprintf(progress, "landscape: %s\n", line.c_str());
  };
  RunModel run = load_run_model(run_dir, options.checkpoint);
  nn::Module& model = *run.model;
  const std::int64_t batch_size = run.config.data.eval_batch_size;
  const Precision precision = parse_precision(run.config.trainer.precision, "trainer.precision");
  const LossProbe train_probe(*run.splits.train, options.samples, batch_size, run.loss, precision);
  const LossProbe val_probe(*run.splits.validation, 0, batch_size, run.loss, precision);
  report("checkpoint " + run.checkpoint_file.string() + " (step " + std::to_string(run.step) + "), " +
         std::to_string(model.parameter_count()) + " parameters, " + std::to_string(train_probe.samples()) +
         " training and " + std::to_string(val_probe.samples()) + " validation samples");

  auto start = std::chrono::steady_clock::now();
  const LineResult line = loss_along_line(model, run.initial_state, run.trained_state,
                                          linspace(options.line_start, options.line_end, options.line_points),
                                          train_probe, val_probe);
  const double line_seconds = seconds_since(start);
  report("line: " + std::to_string(line.alphas.size()) + " points in " + std::to_string(line_seconds) + " s");

  start = std::chrono::steady_clock::now();
  const Generator seeded(options.seed);
  Generator gen_x = seeded.fork(1), gen_y = seeded.fork(2);
  const FlatVector direction_x = filter_normalized_direction(model, gen_x);
  const FlatVector direction_y = filter_normalized_direction(model, gen_y);
  const auto axis = linspace(-options.range, options.range, options.grid);
  const SurfaceResult surface = loss_surface(model, direction_x, direction_y, axis, axis, train_probe);
  const double surface_seconds = seconds_since(start);
  report("surface: " + std::to_string(options.grid) + "x" + std::to_string(options.grid) + " points in " +
         std::to_string(surface_seconds) + " s");

  start = std::chrono::steady_clock::now();
  PowerIterationOptions hessian_options = options.hessian;
  hessian_options.seed = options.seed;
  const PowerIterationResult hessian = top_hessian_eigenvalue(model, train_probe, hessian_options);
  const double hessian_seconds = seconds_since(start);
  report("hessian: top eigenvalue " + std::to_string(hessian.top_eigenvalue) + " after " +
         std::to_string(hessian.iterations.size()) + " iterations in " + std::to_string(hessian_seconds) + " s");

  nlohmann::json loss_rows = nlohmann::json::array();
  for (const auto& row : surface.loss) loss_rows.push_back(numbers(row));
  return {{"kind", "landscape"},
          {"run_dir", run_dir.string()},
          {"checkpoint", run.checkpoint_file.string()},
          {"step", run.step},
          {"parameters", model.parameter_count()},
          {"samples", {{"train", train_probe.samples()}, {"val", val_probe.samples()}}},
          {"seed", options.seed},
          {"line", {{"alphas", line.alphas}, {"train_loss", numbers(line.train_loss)},
                    {"val_loss", numbers(line.val_loss)}}},
          {"surface", {{"x", surface.x}, {"y", surface.y}, {"loss", loss_rows}, {"normalization", "filter"},
                       {"ignore", "biases and normalisation parameters (rank <= 1) have zero direction"}}},
          {"hessian", {{"top_eigenvalue", hessian.top_eigenvalue}, {"iterations", numbers(hessian.iterations)},
                       {"method", hessian_method_description(hessian, train_probe.samples())},
                       {"converged", hessian.converged}, {"epsilon", hessian.epsilon}}},
          {"timings_s", {{"line", line_seconds}, {"surface", surface_seconds}, {"hessian", hessian_seconds}}}};
}

void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& value) {
  std::filesystem::create_directories(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
  train::write_file_atomic(path, value.dump(2) + "\n");
}

}  // namespace descent::landscape
