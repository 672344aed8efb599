// Runs descent's optimizers on the test functions and writes the study (see trajectory.hpp).
#include "descent/trajectory/trajectory.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>

#include "descent/core/error.hpp"
#include "descent/core/tensor.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/schedule/binding.hpp"
#include "descent/schedule/factory.hpp"

namespace descent::trajectory {
namespace {

using Clock = std::chrono::steady_clock;

// Rethrows an Error from building or running an optimizer with the optimizer's label in front.
template <class Body>
auto labelled(const std::string& label, Body&& body) {
  try {
    return body();
  } catch (const Error& error) {
    throw Error(label + ": " + error.what());
  }
}

std::optional<schedule::ScheduleBinding> bind_schedule(const std::optional<NamedOptions>& spec,
                                                       const optim::Optimizer& optimizer) {
  if (!spec) return std::nullopt;
  schedule::ScheduleBinding binding;
  binding.schedule = schedule::make_schedule(spec->name, spec->options);
  binding.hyperparameter = "lr";
  binding.groups = {0};
  binding.base_values = {optimizer.hyperparameter(0, "lr")};
  // Cyclic schedules cycle SGD's momentum or, for Adam-like optimizers, beta1 (as PyTorch does).
  const auto names = optimizer.hyperparameter_names();
  const bool has_momentum = std::find(names.begin(), names.end(), "momentum") != names.end();
  binding.cycled_momentum_name = has_momentum ? "momentum" : "beta1";
  binding.validate();
  return binding;
}

bool all_finite(std::span<const double> values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

Point path_point(std::span<const double> x, double f) {
  Point point(x.begin(), x.end());
  point.push_back(f);
  return point;
}

nlohmann::json optional_json(const auto& value) { return value ? nlohmann::json(*value) : nlohmann::json(nullptr); }

std::string shortest(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string csv_quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

Trajectory run_trajectory(const TestFunction& function, const NamedOptions& spec, const TrajectoryOptions& options) {
  const auto started = Clock::now();
  const auto dims = static_cast<std::size_t>(function.dims());
  const Point& start = options.start.empty() ? function.info().default_start : options.start;
  DESCENT_CHECK(start.size() == dims, "trajectories: start has ", start.size(), " coordinates, ", function.name(),
                " has ", dims);
  DESCENT_CHECK(options.steps >= 1, "trajectories: steps ", options.steps, " is invalid: expected an integer >= 1");

  // Muon updates matrices only: it sees the point as one 1 x n row (orthogonalising a row normalises it).
  const auto n = static_cast<std::int64_t>(dims);
  Tensor param = from_vector(start, spec.name == "muon" ? Shape{1, n} : Shape{n});
  param.set_grad(zeros(param.shape(), DType::Float64));
  const std::span<double> x(param.data<double>(), dims);
  const std::span<double> gradient(param.grad().data<double>(), dims);
  auto optimizer = labelled(spec.label, [&] { return optim::make_optimizer(spec.name, {param}, spec.options); });
  const auto binding = labelled(spec.label, [&] { return bind_schedule(options.schedule, *optimizer); });
  const bool needs_closure = optimizer->name() == "lbfgs";

  Trajectory result;
  result.optimizer = spec;
  result.path.reserve(static_cast<std::size_t>(options.steps) + 1);
  double f = function.evaluate(x, gradient);
  result.gradient_evaluations = 1;
  result.path.push_back(path_point(x, f));
  const auto closure = [&] {
    ++result.gradient_evaluations;
    return function.evaluate(x, gradient);
  };
  labelled(spec.label, [&] {
    for (std::int64_t step = 0; step < options.steps; ++step) {
      if (binding) {
        for (const auto& value : binding->values_at(step)) optimizer->set_hyperparameter(value.group, value.name, value.value);
      }
      if (needs_closure) {
        optimizer->step(closure);
        f = function.value(x);  // the next step's closure recomputes the gradient
      } else {
        optimizer->step();
        f = function.evaluate(x, gradient);  // the gradient the next step reads
        ++result.gradient_evaluations;
      }
      if (!std::isfinite(f) || !all_finite(x)) {
        result.diverged_at_step = step + 1;
        break;
      }
      result.path.push_back(path_point(x, f));
      if (binding) binding->observe(step, f);
    }
    return 0;
  });

  const Point& last = result.path.back();
  const std::span<const double> last_x(last.data(), dims);
  const auto& info = function.info();
  if (!result.diverged_at_step) result.final_value = last.back();
  if (!result.diverged_at_step) result.distance_to_minimum = distance_to_nearest(last_x, info.minima);
  if (!result.diverged_at_step && info.minima.empty())
    result.distance_to_stationary_point = distance_to_nearest(last_x, info.stationary_points);
  if (info.minimum_value) {
    for (std::size_t t = 0; t < result.path.size(); ++t)
      if (result.path[t].back() - *info.minimum_value <= options.tolerance) {
        result.steps_to_tolerance = static_cast<std::int64_t>(t);
        break;
      }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

ContourGrid contour_grid(const TestFunction& function, int resolution) {
  DESCENT_CHECK(resolution >= 2, "contour_grid: resolution ", resolution, " is invalid: expected >= 2");
  const auto& info = function.info();
  ContourGrid grid;
  grid.slice = !info.minima.empty() ? info.minima.front()
               : !info.stationary_points.empty() ? info.stationary_points.front()
                                                 : Point(static_cast<std::size_t>(function.dims()), 0.0);
  for (int k = 0; k < resolution; ++k) {
    const double fraction = static_cast<double>(k) / (resolution - 1);
    grid.x.push_back(info.bounds[0][0] + fraction * (info.bounds[0][1] - info.bounds[0][0]));
    grid.y.push_back(info.bounds[1][0] + fraction * (info.bounds[1][1] - info.bounds[1][0]));
  }
  Point point = grid.slice;
  for (const double y : grid.y) {
    auto& row = grid.z.emplace_back();
    for (const double x : grid.x) {
      point[0] = x;
      point[1] = y;
      row.push_back(function.value(point));
    }
  }
  return grid;
}

TrajectoryStudy run_study(const TestFunction& function, const std::string& function_spec,
                          const std::vector<NamedOptions>& optimizers, TrajectoryOptions options) {
  DESCENT_CHECK(!optimizers.empty(), "trajectories: no optimizers given: expected e.g. \"sgd(lr=0.01),adam(lr=0.05)\"");
  DESCENT_CHECK(std::isfinite(options.tolerance) && options.tolerance > 0, "trajectories: tolerance ",
                options.tolerance, " is invalid: expected a number > 0");
  if (options.start.empty()) options.start = function.info().default_start;
  DESCENT_CHECK(all_finite(options.start), "trajectories: the start must be finite");
  TrajectoryStudy study{function_spec, options, {}, 0};
  const auto started = Clock::now();
  for (const auto& optimizer : optimizers) study.trajectories.push_back(run_trajectory(function, optimizer, options));
  study.compute_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return study;
}

nlohmann::json study_json(const TestFunction& function, const TrajectoryStudy& study, int grid_resolution) {
  const auto& info = function.info();
  const ContourGrid grid = contour_grid(function, grid_resolution);
  nlohmann::json z = nlohmann::json::array();
  for (const auto& row : grid.z) {
    auto& out = z.emplace_back(nlohmann::json::array());
    for (const double v : row) out.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr));
  }
  nlohmann::json function_json = {
      {"name", info.name},
      {"spec", study.function_spec},
      {"dims", info.dims},
      {"bounds", info.bounds},
      {"minima", info.minima},
      {"minimum_value", optional_json(info.minimum_value)},
      {"stationary_points", info.stationary_points},
      {"grid", {{"x", grid.x}, {"y", grid.y}, {"z", z}, {"slice", grid.slice}}}};
  const auto& schedule = study.options.schedule;
  const nlohmann::json schedule_json =
      schedule ? nlohmann::json{{"name", schedule->name}, {"options", schedule->options}} : nlohmann::json(nullptr);
  nlohmann::json optimizers = nlohmann::json::array();
  for (const auto& run : study.trajectories) {
    optimizers.push_back({{"label", run.optimizer.label},
                          {"name", run.optimizer.name},
                          {"options", run.optimizer.options},
                          {"schedule", schedule_json},
                          {"path", run.path},
                          {"final_value", optional_json(run.final_value)},
                          {"distance_to_minimum", optional_json(run.distance_to_minimum)},
                          {"distance_to_stationary_point", optional_json(run.distance_to_stationary_point)},
                          {"steps_to_tolerance", optional_json(run.steps_to_tolerance)},
                          {"diverged_at_step", optional_json(run.diverged_at_step)},
                          {"gradient_evaluations", run.gradient_evaluations},
                          {"seconds", run.seconds}});
  }
  return {{"kind", "trajectories"},     {"function", function_json},     {"start", study.options.start},
          {"steps", study.options.steps}, {"tolerance", study.options.tolerance}, {"optimizers", optimizers},
          {"compute_seconds", study.compute_seconds}};
}

void write_atomically(const std::filesystem::path& path, const std::string& text) {
  auto temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    DESCENT_CHECK(out.good(), "cannot write ", temporary.string());
    out << text;
    out.flush();
    DESCENT_CHECK(out.good(), "writing ", temporary.string(), " failed");
  }
  std::filesystem::rename(temporary, path);
}

void write_study(const std::filesystem::path& dir, const TestFunction& function, const TrajectoryStudy& study,
                 int grid_resolution) {
  std::filesystem::create_directories(dir);
  write_atomically(dir / "trajectories.json", study_json(function, study, grid_resolution).dump() + "\n");
  // 2-D: optimizer,step,x,y,f; n-D: optimizer,step,x0,...,x{n-1},f.
  std::string csv = "optimizer,step,";
  if (function.dims() == 2) {
    csv += "x,y,";
  } else {
    for (int i = 0; i < function.dims(); ++i) {
      csv += 'x';
      csv += std::to_string(i);
      csv += ',';
    }
  }
  csv += "f\n";
  for (const auto& run : study.trajectories) {
    const std::string label = csv_quoted(run.optimizer.label);
    for (std::size_t step = 0; step < run.path.size(); ++step) {
      csv += label;
      csv += ',';
      csv += std::to_string(step);
      for (const double v : run.path[step]) {
        csv += ',';
        csv += shortest(v);
      }
      csv += '\n';
    }
  }
  write_atomically(dir / "trajectories.csv", csv);
}

}  // namespace descent::trajectory
