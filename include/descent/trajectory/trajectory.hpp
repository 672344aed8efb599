#pragma once
// Optimizer trajectories on test functions: each optimizer is descent's real optimizer (make_optimizer)
// over one float64 tensor holding the point, with the analytic gradient written into its grad before each
// step (L-BFGS gets a closure that evaluates the function and its gradient). An optional schedule drives
// `lr` through a ScheduleBinding, a fresh instance per optimizer. The study is written as
// trajectories.json and trajectories.csv (docs/FORMATS.md, "Trajectories").
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/trajectory/functions.hpp"
#include "descent/trajectory/spec.hpp"

namespace descent::trajectory {

struct TrajectoryOptions {
  Point start;                      // length dims(); empty: the function's default start
  std::int64_t steps = 1000;
  double tolerance = 1e-6;          // on f(x_t) - f*: steps_to_tolerance is the first t where it holds
  std::optional<NamedOptions> schedule;  // drives lr; "cosineannealinglr(T_max=500)" etc.
};

struct Trajectory {
  NamedOptions optimizer;
  std::vector<Point> path;                // [x_0, ..., x_{n-1}, f]: the start, then one point per step
  std::optional<double> final_value;      // f at the last point; nullopt when the run diverged
  std::optional<double> distance_to_minimum;            // to the nearest listed minimum; nullopt: none
  std::optional<double> distance_to_stationary_point;   // functions without a minimum (saddles)
  std::optional<std::int64_t> steps_to_tolerance;       // nullopt: never reached, or no minimum
  std::optional<std::int64_t> diverged_at_step;         // the step whose point was not finite
  std::int64_t gradient_evaluations = 0;
  double seconds = 0;
};

// Runs one optimizer. Errors from make_optimizer / make_schedule (unknown names or options, bad values)
// propagate with the optimizer's label prepended.
Trajectory run_trajectory(const TestFunction& function, const NamedOptions& optimizer,
                          const TrajectoryOptions& options);

// f over the plotting box of the first two coordinates, resolution x resolution points; coordinates past
// the second are held at the first minimum (or stationary point) for n-D functions.
struct ContourGrid {
  std::vector<double> x, y;
  std::vector<std::vector<double>> z;  // z[i][j] = f at (x[j], y[i])
  Point slice;                          // the full point the grid varies the first two coordinates of
};
ContourGrid contour_grid(const TestFunction& function, int resolution = 100);

struct TrajectoryStudy {
  std::string function_spec;  // as given, e.g. "quadratic(condition=100)"
  TrajectoryOptions options;  // with the start filled in
  std::vector<Trajectory> trajectories;
  double compute_seconds = 0;  // all optimizer runs together (not the grid or the files)
};

// Runs every optimizer from the same start.
TrajectoryStudy run_study(const TestFunction& function, const std::string& function_spec,
                          const std::vector<NamedOptions>& optimizers, TrajectoryOptions options);

nlohmann::json study_json(const TestFunction& function, const TrajectoryStudy& study, int grid_resolution = 100);
// Writes DIR/trajectories.json (atomically) and DIR/trajectories.csv; creates DIR.
void write_study(const std::filesystem::path& dir, const TestFunction& function, const TrajectoryStudy& study,
                 int grid_resolution = 100);

// Writes `text` to path.tmp and renames it over `path`, so a reader never sees half a file.
void write_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace descent::trajectory
