// `descent trajectories --function NAME --optimizers "sgd(lr=..),adam(lr=..)" [--start X,Y] [--schedule ..]
// --steps N`: runs each optimizer from the same start on a test function, writes trajectories.json and
// trajectories.csv (docs/FORMATS.md) and the HTML report, and prints a table of the outcomes.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "command.hpp"
#include "descent/core/error.hpp"
#include "descent/core/options.hpp"
#include "descent/report/report.hpp"
#include "descent/trajectory/trajectory.hpp"
#include "descent/train/run.hpp"

namespace descent::cli {
namespace {

struct TrajectoriesArgs {
  std::string function;
  std::string start;
  std::string optimizers;
  std::string schedule;
  std::int64_t steps = 1000;
  double tolerance = 1e-6;
  int grid = 100;
  std::string out;
  bool no_report = false;
};

trajectory::Point parse_start(const std::string& text, int dims) {
  trajectory::Point point;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) {
    char* end = nullptr;
    const double value = std::strtod(part.c_str(), &end);
    DESCENT_CHECK(!part.empty() && *end == '\0' && std::isfinite(value), "trajectories: --start '", text,
                  "' is invalid: expected ", dims, " comma-separated numbers, e.g. -1.5,2");
    point.push_back(value);
  }
  DESCENT_CHECK(point.size() == static_cast<std::size_t>(dims), "trajectories: --start '", text, "' has ",
                point.size(), " coordinates, the function has ", dims);
  return point;
}

std::string cell(const std::optional<double>& value) {
  if (!value) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", *value);
  return buffer;
}

void print_table(const trajectory::TestFunction& function, const trajectory::TrajectoryStudy& study) {
  const bool has_minimum = !function.info().minima.empty();
  std::size_t width = 9;
  for (const auto& run : study.trajectories) width = std::max(width, run.optimizer.label.size());
  std::printf("%-*s  %14s  %14s  %18s\n", static_cast<int>(width), "optimizer", "final value",
              has_minimum ? "dist. to min." : "dist. to stat.", "steps to tolerance");
  for (const auto& run : study.trajectories) {
    const auto distance = has_minimum ? run.distance_to_minimum : run.distance_to_stationary_point;
    std::string steps = run.steps_to_tolerance ? std::to_string(*run.steps_to_tolerance) : "-";
    if (run.diverged_at_step) steps = "diverged at " + std::to_string(*run.diverged_at_step);
    std::printf("%-*s  %14s  %14s  %18s\n", static_cast<int>(width), run.optimizer.label.c_str(),
                cell(run.final_value).c_str(), cell(distance).c_str(), steps.c_str());
  }
  if (!has_minimum)
    std::printf("(%s has no minimum: distances are to the stationary point, steps to tolerance do not apply)\n",
                function.name().c_str());
}

void run(const TrajectoriesArgs& args) {
  const auto function = trajectory::parse_function(args.function);
  trajectory::TrajectoryOptions options;
  if (!args.start.empty()) options.start = parse_start(args.start, function->dims());
  options.steps = args.steps;
  options.tolerance = args.tolerance;
  if (!args.schedule.empty()) options.schedule = trajectory::parse_named_options(args.schedule, "--schedule");
  DESCENT_CHECK(args.grid >= 2 && args.grid <= 2000, "trajectories: --grid ", args.grid,
                " is invalid: expected an integer in [2, 2000]");
  const auto optimizers = trajectory::parse_named_options_list(args.optimizers, "--optimizers");
  const auto study = trajectory::run_study(*function, args.function, optimizers, options);

  const std::filesystem::path dir =
      args.out.empty() ? std::filesystem::path("runs") / ("trajectories-" + function->name() + "-" + train::utc_stamp())
                       : std::filesystem::path(args.out);
  trajectory::write_study(dir, *function, study, args.grid);
  print_table(*function, study);
  std::printf("%zu optimizers x %lld steps in %.3f s\n", study.trajectories.size(),
              static_cast<long long>(args.steps), study.compute_seconds);
  std::cout << "wrote " << (dir / "trajectories.json").string() << " and trajectories.csv\n";
  if (!args.no_report) std::cout << "report: " << report::write_report(dir).string() << "\n";
}

void setup(CLI::App& sub) {
  auto args = std::make_shared<TrajectoriesArgs>();
  const std::string names = join(trajectory::function_names());
  sub.add_option("--function", args->function,
                 "test function: " + names + "; options as name(key=value,...), e.g. rosenbrock(dims=4), "
                 "quadratic(condition=100,angle=0.5)")
      ->required();
  sub.add_option("--optimizers", args->optimizers,
                 "comma-separated optimizers with PyTorch options, e.g. \"sgd(lr=0.001,momentum=0.9),"
                 "adam(lr=0.05,betas=(0.9,0.99)),lbfgs(line_search_fn=strong_wolfe)\"")
      ->required();
  sub.add_option("--start", args->start, "start point X,Y[,...] (default: the function's own)");
  sub.add_option("--schedule", args->schedule,
                 "schedule of lr applied to every optimizer, e.g. \"cosineannealinglr(T_max=1000)\"");
  // Every step of every run is kept for the plot: bounded so a typo cannot exhaust memory.
  sub.add_option("--steps", args->steps, "optimizer steps per run (1 to 10,000,000)")
      ->default_val(1000)
      ->check(CLI::Range(std::int64_t(1), std::int64_t(10000000)).description("1 to 10,000,000"));
  sub.add_option("--tolerance", args->tolerance, "steps to tolerance: first step with f - f* <= this")
      ->default_val(1e-6);
  sub.add_option("--grid", args->grid, "contour grid resolution per axis")->default_val(100);
  sub.add_option("--out", args->out, "output folder (default runs/trajectories-<function>-<UTC time>)");
  sub.add_flag("--no-report", args->no_report, "write the JSON and CSV only, not report.html");
  sub.callback([args] { run(*args); });
}

RegisterCommand registration{"trajectories", "run optimizers on a test function and plot their paths", setup};

}  // namespace
}  // namespace descent::cli
