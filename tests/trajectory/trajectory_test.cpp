// Trajectories: the path is what the optimizer rule gives with the analytic gradient, schedules drive lr,
// L-BFGS runs through its closure, divergence and saddles are reported as documented, the files follow
// docs/FORMATS.md, and 5 optimizers x 10,000 steps stay fast.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "descent/core/error.hpp"
#include "descent/trajectory/trajectory.hpp"

namespace {

using namespace descent::trajectory;

TrajectoryOptions with_steps(std::int64_t steps, Point start = {}) {
  TrajectoryOptions options;
  options.steps = steps;
  options.start = std::move(start);
  return options;
}

// Plain gradient descent written out, the ground truth for SGD without momentum.
std::vector<Point> gradient_descent(const TestFunction& f, Point x, double lr, int steps) {
  std::vector<Point> path;
  Point g(x.size());
  for (int t = 0; t <= steps; ++t) {
    const double value = f.evaluate(x, g);
    path.push_back(x);
    path.back().push_back(value);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] -= lr * g[i];
  }
  return path;
}

TEST(Trajectory, SgdFollowsGradientDescentExactly) {
  const auto booth = parse_function("booth");
  const auto run = run_trajectory(*booth, parse_named_options("sgd(lr=0.05)", "x"), with_steps(40, {-8, 7}));
  const auto expected = gradient_descent(*booth, {-8, 7}, 0.05, 40);
  ASSERT_EQ(run.path.size(), 41u);
  for (std::size_t t = 0; t < expected.size(); ++t)
    for (std::size_t k = 0; k < 3; ++k) EXPECT_DOUBLE_EQ(run.path[t][k], expected[t][k]) << t;
  EXPECT_EQ(run.gradient_evaluations, 41);
  EXPECT_DOUBLE_EQ(*run.final_value, expected.back()[2]);
  EXPECT_NEAR(*run.distance_to_minimum, std::hypot(expected.back()[0] - 1, expected.back()[1] - 3), 1e-15);
}

TEST(Trajectory, StepsToToleranceIsTheFirstStepWithinTolerance) {
  const auto booth = parse_function("booth");
  auto options = with_steps(200, {-8, 7});
  options.tolerance = 1e-3;
  const auto run = run_trajectory(*booth, parse_named_options("sgd(lr=0.05)", "x"), options);
  ASSERT_TRUE(run.steps_to_tolerance.has_value());
  const auto t = static_cast<std::size_t>(*run.steps_to_tolerance);
  EXPECT_LE(run.path[t][2], 1e-3);
  EXPECT_GT(run.path[t - 1][2], 1e-3);
  options.tolerance = 1e-300;
  EXPECT_FALSE(run_trajectory(*booth, parse_named_options("sgd(lr=0.05)", "x"), options).steps_to_tolerance);
}

TEST(Trajectory, ScheduleDrivesTheLearningRate) {
  // constantlr halves lr for the whole run: the path is gradient descent with lr / 2.
  const auto booth = parse_function("booth");
  auto options = with_steps(30, {-8, 7});
  options.schedule = parse_named_options("constantlr(factor=0.5,total_iters=1000)", "--schedule");
  const auto run = run_trajectory(*booth, parse_named_options("sgd(lr=0.05)", "x"), options);
  const auto expected = gradient_descent(*booth, {-8, 7}, 0.025, 30);
  for (std::size_t t = 0; t < expected.size(); ++t) EXPECT_DOUBLE_EQ(run.path[t][0], expected[t][0]) << t;
}

TEST(Trajectory, LbfgsRunsThroughItsClosure) {
  const auto rosenbrock = parse_function("rosenbrock");
  const auto run = run_trajectory(*rosenbrock, parse_named_options("lbfgs(line_search_fn=strong_wolfe)", "x"),
                                  with_steps(10));
  EXPECT_LT(*run.distance_to_minimum, 1e-4);
  EXPECT_GT(run.gradient_evaluations, 10);  // up to max_iter iterations and line-search calls per step
}

TEST(Trajectory, DivergenceEndsThePathAtTheLastFinitePoint) {
  const auto rosenbrock = parse_function("rosenbrock");
  const auto run = run_trajectory(*rosenbrock, parse_named_options("sgd(lr=0.1)", "x"), with_steps(100));
  ASSERT_TRUE(run.diverged_at_step.has_value());
  EXPECT_EQ(run.path.size(), static_cast<std::size_t>(*run.diverged_at_step));
  EXPECT_FALSE(run.final_value.has_value());
  EXPECT_FALSE(run.distance_to_minimum.has_value());
  for (const auto& point : run.path)
    for (const double v : point) EXPECT_TRUE(std::isfinite(v));
}

TEST(Trajectory, SaddlesReportTheDistanceToTheStationaryPoint) {
  const auto saddle = parse_function("saddle");
  const auto run = run_trajectory(*saddle, parse_named_options("sgd(lr=0.1)", "x"), with_steps(20, {1, 0.5}));
  EXPECT_FALSE(run.distance_to_minimum.has_value());
  EXPECT_FALSE(run.steps_to_tolerance.has_value());
  // x shrinks by 0.8 per step, y grows by 1.2.
  EXPECT_NEAR(*run.distance_to_stationary_point, std::hypot(std::pow(0.8, 20), 0.5 * std::pow(1.2, 20)), 1e-9);
}

TEST(Trajectory, NDimensionalPathsHoldEveryCoordinate) {
  const auto rosenbrock = parse_function("rosenbrock(dims=4)");
  const auto run = run_trajectory(*rosenbrock, parse_named_options("adam(lr=0.01)", "x"), with_steps(5));
  EXPECT_EQ(run.path.front(), (Point{-1.2, 1, -1.2, 1, rosenbrock->value(Point{-1.2, 1, -1.2, 1})}));
  EXPECT_EQ(run.path.back().size(), 5u);
}

TEST(Trajectory, BadOptimizersAreErrorsNamingTheEntry) {
  const auto booth = parse_function("booth");
  try {
    run_trajectory(*booth, parse_named_options("adamm(lr=0.1)", "x"), with_steps(5));
    FAIL() << "no error";
  } catch (const descent::Error& error) {
    EXPECT_NE(std::string(error.what()).find("adamm(lr=0.1): "), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("adamw"), std::string::npos) << error.what();
  }
  EXPECT_THROW(run_trajectory(*booth, parse_named_options("sgd(learning_rate=0.1)", "x"), with_steps(5)),
               descent::Error);
  EXPECT_THROW(run_trajectory(*booth, parse_named_options("sgd(lr=0.1)", "x"), with_steps(5, {1, 2, 3})),
               descent::Error);
}

TEST(Trajectory, StudyFilesFollowTheFormat) {
  const auto himmelblau = parse_function("himmelblau");
  const auto optimizers = parse_named_options_list("sgd(lr=0.01,momentum=0.9),adam(lr=0.1)", "--optimizers");
  const auto study = run_study(*himmelblau, "himmelblau", optimizers, with_steps(50));
  const auto dir = std::filesystem::temp_directory_path() / "descent_trajectory_test";
  std::filesystem::remove_all(dir);
  write_study(dir, *himmelblau, study, 20);

  std::ifstream json_file(dir / "trajectories.json");
  const auto json = nlohmann::json::parse(json_file);
  EXPECT_EQ(json.at("kind"), "trajectories");
  const auto& function = json.at("function");
  EXPECT_EQ(function.at("minima").size(), 4u);
  EXPECT_EQ(function.at("bounds"), (nlohmann::json{{-5, 5}, {-5, 5}}));
  const auto& grid = function.at("grid");
  ASSERT_EQ(grid.at("z").size(), 20u);
  const double x = grid.at("x")[3], y = grid.at("y")[7];
  EXPECT_DOUBLE_EQ(grid.at("z")[7][3].get<double>(), himmelblau->value(Point{x, y}));
  EXPECT_EQ(json.at("start"), (nlohmann::json{0, 0}));
  EXPECT_EQ(json.at("optimizers").size(), 2u);
  const auto& first = json.at("optimizers")[0];
  EXPECT_EQ(first.at("label"), "sgd(lr=0.01,momentum=0.9)");
  EXPECT_EQ(first.at("options").at("momentum"), 0.9);
  EXPECT_EQ(first.at("path").size(), 51u);
  EXPECT_TRUE(first.at("schedule").is_null());
  EXPECT_TRUE(json.at("compute_seconds").is_number());

  std::ifstream csv_file(dir / "trajectories.csv");
  std::string header, row;
  std::getline(csv_file, header);
  std::getline(csv_file, row);
  EXPECT_EQ(header, "optimizer,step,x,y,f");
  EXPECT_EQ(row.rfind("\"sgd(lr=0.01,momentum=0.9)\",0,0,0,", 0), 0u) << row;
  int rows = 2;
  while (std::getline(csv_file, row)) ++rows;
  EXPECT_EQ(rows, 1 + 2 * 51);
  std::filesystem::remove_all(dir);
}

TEST(Trajectory, FiveOptimizersTenThousandStepsAreFast) {
  const auto rosenbrock = parse_function("rosenbrock");
  const auto optimizers = parse_named_options_list(
      "sgd(lr=0.001,momentum=0.9),adam(lr=0.01),adamw(lr=0.01),rmsprop(lr=0.001),nadam(lr=0.01)", "--optimizers");
  const auto study = run_study(*rosenbrock, "rosenbrock", optimizers, with_steps(10000));
  // Measured about 0.03 s in Release; the bound leaves room for a loaded machine or a debug build.
  EXPECT_LT(study.compute_seconds, 2.0);
  EXPECT_LT(*study.trajectories[0].distance_to_minimum, 1e-6);
}

}  // namespace
