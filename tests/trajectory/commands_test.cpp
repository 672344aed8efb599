// The `descent trajectories` and `descent momentum-study` commands: files, printed tables, the report,
// and one-line errors with a non-zero status.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/run.hpp"

namespace {

using descent::testing::run_descent;

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  return dir;
}

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file);
}

TEST(TrajectoriesCommand, WritesPathsTableAndReport) {
  const auto dir = fresh_dir("descent_trajectories_command");
  const auto result = run_descent("trajectories --function six_hump_camel --start -1.5,1 --steps 300 --grid 30 "
                                  "--optimizers \"sgd(lr=0.01,momentum=0.9),adam(lr=0.05,betas=(0.9,0.99))\" "
                                  "--schedule \"cosineannealinglr(T_max=300)\" --out " + dir.string());
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("steps to tolerance"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("adam(lr=0.05,betas=(0.9,0.99))"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("report: "), std::string::npos) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "report.html"));
  EXPECT_TRUE(std::filesystem::exists(dir / "trajectories.csv"));
  const auto json = read_json(dir / "trajectories.json");
  EXPECT_EQ(json.at("optimizers").size(), 2u);
  EXPECT_EQ(json.at("optimizers")[1].at("options").at("betas"), (nlohmann::json{0.9, 0.99}));
  EXPECT_EQ(json.at("optimizers")[0].at("schedule").at("name"), "cosineannealinglr");
  EXPECT_EQ(json.at("function").at("grid").at("x").size(), 30u);
  std::filesystem::remove_all(dir);
}

TEST(TrajectoriesCommand, BadInputIsOneLineError) {
  auto result = run_descent("trajectories --function rosenbrok --optimizers sgd --no-report --out /tmp/x");
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("test function 'rosenbrok' is unknown: expected one of"), std::string::npos)
      << result.output;
  result = run_descent("trajectories --function booth --start 1 --optimizers sgd --no-report --out /tmp/x");
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("--start '1' has 1 coordinates, the function has 2"), std::string::npos)
      << result.output;
  result = run_descent("trajectories --function booth --optimizers \"sgd(lr=0.1\" --no-report --out /tmp/x");
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("unbalanced '('"), std::string::npos) << result.output;
}

TEST(MomentumStudyCommand, WritesRatesAndSummary) {
  const auto dir = fresh_dir("descent_momentum_command");
  const auto result = run_descent("momentum-study --condition 50 --lrs 0.01:0.1:10 --momenta 0:0.9:10 --steps 400 "
                                  "--out " + dir.string());
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("heavy ball, Polyak optimum"), std::string::npos) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "report.html"));
  const auto json = read_json(dir / "momentum.json");
  EXPECT_EQ(json.at("kind"), "momentum_study");
  EXPECT_EQ(json.at("rate").size(), 10u);
  EXPECT_DOUBLE_EQ(json.at("L").get<double>(), 50.0);
  std::filesystem::remove_all(dir);
  const auto bad = run_descent("momentum-study --condition 10 --lrs 1:2 --no-report");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("--lrs '1:2' is invalid: expected a:b:n"), std::string::npos) << bad.output;
}

}  // namespace
