// `descent compare` end to end on a small synthetic problem: the trials run as child processes, the output
// files follow docs/FORMATS.md, the statistics agree with the trials' own numbers, a rerun reuses finished
// trials, and a failing trial is reported without losing the others.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/run.hpp"
#include "descent/compare/stats.hpp"

namespace descent::compare {
namespace {

using nlohmann::json;
using descent::testing::run_descent;

const std::string kConfig = R"(
name = "moons"
[data]
dataset = "two_moons"
samples = 240
batch_size = 16
[model]
hidden = [16]
[trainer]
epochs = 3
log_every_steps = 5
[trainer.checkpoint]
save_best = false
[compare]
seeds = 2
target = { metric = "val_accuracy", value = 0.75 }
parallel = 2
[[compare.setups]]
name = "sgd"
optimizer = { name = "sgd", lr = 0.1, momentum = 0.9 }
[[compare.setups]]
name = "adam"
optimizer = { name = "adam", lr = 0.01 }
)";

// A setup that passes validation but fails at run time: its loss overflows and non-finite values stop the run.
const std::string kFailingSetup = R"(
[[compare.setups]]
name = "diverging"
optimizer = { name = "sgd", lr = 1e30 }
transforms = { nonfinite = "raise" }
)";

class CompareCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("descent-compare-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write_config(const std::string& text) {
    const auto path = dir_ / "compare.toml";
    std::ofstream(path) << text;
    return path.string();
  }
  json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return json::parse(in);
  }
  std::filesystem::path dir_;
};

// The loss of the first step (the first batch through the initial weights) from a trial's step records.
double first_loss(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const json record = json::parse(line);
    if (record.at("kind") == "step" && record.at("step") == 1) return record.at("loss").get<double>();
  }
  ADD_FAILURE() << "no step-1 record in " << run_dir;
  return 0;
}

TEST_F(CompareCommand, RunsPairedTrialsAndWritesTheComparison) {
  const auto config = write_config(kConfig);
  const auto out = dir_ / "cmp";
  const auto result = run_descent("compare " + config + " --out " + out.string());
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("final val_loss"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("Wilcoxon p"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("comparison: " + (out / "comparison.json").string()), std::string::npos);

  const json c = read_json(out / "comparison.json");
  EXPECT_EQ(c.at("kind"), "comparison");
  EXPECT_EQ(c.at("baseline"), "sgd");
  EXPECT_EQ(c.at("seeds"), json::array({0, 1}));
  EXPECT_EQ(c.at("target").at("metric"), "val_accuracy");
  ASSERT_EQ(c.at("setups").size(), 2u);
  std::map<std::string, std::map<std::uint64_t, double>> final_loss;
  for (const auto& setup : c.at("setups")) {
    ASSERT_EQ(setup.at("trials").size(), 2u);
    for (const auto& t : setup.at("trials")) {
      EXPECT_EQ(t.at("status"), "ok") << t.dump();
      EXPECT_GT(t.at("wall_time_s").get<double>(), 0.0);
      EXPECT_GT(t.at("peak_rss_mb").get<double>(), 1.0);
      EXPECT_TRUE(std::filesystem::exists(out / t.at("run_dir").get<std::string>() / "epochs.csv"));
      const double final_value = t.at("final").at("val_loss").get<double>();
      EXPECT_LE(t.at("best").at("val_loss").get<double>(), final_value);
      final_loss[setup.at("name")][t.at("seed").get<std::uint64_t>()] = final_value;
    }
    const json& s = setup.at("summary").at("final_val_loss");
    EXPECT_EQ(s.at("n"), 2);
    const std::vector<double> values{final_loss[setup.at("name")][0], final_loss[setup.at("name")][1]};
    EXPECT_DOUBLE_EQ(s.at("mean").get<double>(), (values[0] + values[1]) / 2);
    EXPECT_TRUE(setup.at("summary").contains("final_val_accuracy"));
    EXPECT_TRUE(setup.at("summary").contains("steps_to_target"));
  }
  EXPECT_TRUE(c.at("setups")[0].at("versus_baseline").is_null());
  const json& v = c.at("setups")[1].at("versus_baseline");
  EXPECT_EQ(v.at("metric"), "final_val_loss");
  EXPECT_EQ(v.at("n"), 2);
  const std::vector<double> differences{final_loss["adam"][0] - final_loss["sgd"][0], final_loss["adam"][1] - final_loss["sgd"][1]};
  EXPECT_DOUBLE_EQ(v.at("mean_difference").get<double>(), (differences[0] + differences[1]) / 2);
  const TestResult t = paired_t_test(differences);
  ASSERT_TRUE(t.p_value);
  EXPECT_DOUBLE_EQ(v.at("t_p").get<double>(), *t.p_value);
  EXPECT_DOUBLE_EQ(v.at("t_p_holm").get<double>(), *t.p_value);  // one setup tested: Holm changes nothing
  EXPECT_DOUBLE_EQ(v.at("wilcoxon_p").get<double>(), *wilcoxon_signed_rank(differences).p_value);

  // Paired: for a seed, both setups' first step saw the same batch through the same initial weights.
  for (int seed : {0, 1})
    EXPECT_EQ(first_loss(out / "trials" / ("sgd-seed" + std::to_string(seed))),
              first_loss(out / "trials" / ("adam-seed" + std::to_string(seed))));
  EXPECT_NE(first_loss(out / "trials/sgd-seed0"), first_loss(out / "trials/sgd-seed1"));

  std::ifstream csv(out / "comparison.csv");
  std::string header, row;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("setup,optimizer,trials_ok,trials_failed,", 0), 0u) << header;
  std::getline(csv, row);
  EXPECT_EQ(row.rfind("sgd,sgd,2,0,", 0), 0u) << row;

  // A second run on the folder reuses every finished trial and gives the same numbers.
  const auto again = run_descent("compare " + config + " --out " + out.string());
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("4 of 4 trials already finished"), std::string::npos) << again.output;
  const json c2 = read_json(out / "comparison.json");
  EXPECT_EQ(c2.at("setups")[1].at("versus_baseline"), v);
  EXPECT_EQ(c2.at("setups")[0].at("trials")[0].at("reused"), true);

  // A folder holding trials of another config is refused rather than mixed.
  const auto changed = run_descent("compare " + config + " --out " + out.string() + " --set trainer.epochs=2");
  EXPECT_EQ(changed.status, 1);
  EXPECT_NE(changed.output.find("holds a run of a different config"), std::string::npos) << changed.output;
}

TEST_F(CompareCommand, AFailingTrialIsReportedAndTheOthersSummarised) {
  std::string text = kConfig + kFailingSetup;
  text.replace(text.find("seeds = 2"), 9, "seeds = 1");
  text.replace(text.find("target = {"), text.find('\n', text.find("target = {")) - text.find("target = {"), "");
  const auto out = dir_ / "cmp";
  const auto result = run_descent("compare " + write_config(text) + " --out " + out.string() + " --parallel 3");
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("1 of 3 trials failed"), std::string::npos) << result.output;
  const json c = read_json(out / "comparison.json");
  const json& failed = c.at("setups")[2].at("trials")[0];
  EXPECT_EQ(failed.at("status"), "failed");
  EXPECT_NE(failed.at("error").get<std::string>().find("transforms.nonfinite = raise"), std::string::npos) << failed.dump();
  EXPECT_EQ(c.at("setups")[2].at("summary").at("final_val_loss").at("n"), 0);
  EXPECT_TRUE(c.at("setups")[2].at("summary").at("final_val_loss").at("mean").is_null());
  EXPECT_EQ(c.at("setups")[2].at("versus_baseline").at("n"), 0);
  EXPECT_TRUE(c.at("setups")[2].at("versus_baseline").at("t_p").is_null());
  EXPECT_EQ(c.at("setups")[1].at("trials")[0].at("status"), "ok");
  EXPECT_EQ(c.at("setups")[1].at("summary").at("final_val_loss").at("n"), 1);
}

TEST_F(CompareCommand, AFinishedTrialWithUnreadableResultsIsRerun) {
  std::string text = kConfig;
  text.replace(text.find("seeds = 2"), 9, "seeds = 1");
  const auto config = write_config(text);
  const auto out = dir_ / "cmp";
  ASSERT_EQ(run_descent("compare " + config + " --out " + out.string()).status, 0);
  std::filesystem::remove(out / "trials" / "sgd-seed0" / "metrics.jsonl");
  std::filesystem::remove(out / "trials" / "sgd-seed0" / "epochs.csv");
  const auto again = run_descent("compare " + config + " --out " + out.string());
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("sgd seed 0 finished but its metrics.jsonl has no epoch record; moved to"), std::string::npos)
      << again.output;
  EXPECT_NE(again.output.find("1 of 2 trials already finished"), std::string::npos) << again.output;
  const json c = read_json(out / "comparison.json");
  EXPECT_EQ(c.at("setups")[0].at("trials")[0].at("status"), "ok") << c.dump();
  EXPECT_EQ(c.at("setups")[0].at("summary").at("final_val_loss").at("n"), 1);
}

TEST_F(CompareCommand, ADivergedSetupIsAResultThatRanksLast) {
  std::string text = kConfig + "[[compare.setups]]\nname = \"diverged\"\noptimizer = { name = \"sgd\", lr = 1e30 }\n";
  text.replace(text.find("seeds = 2"), 9, "seeds = 1");
  text.replace(text.find("[compare]"), 9, "[compare]\nmetric = \"val_accuracy\"");
  const auto out = dir_ / "cmp";
  const auto result = run_descent("compare " + write_config(text) + " --out " + out.string() + " --parallel 3");
  ASSERT_EQ(result.status, 0) << result.output;
  const json c = read_json(out / "comparison.json");
  ASSERT_EQ(c.at("setups").size(), 3u);
  const json& diverged = c.at("setups")[2];
  EXPECT_EQ(diverged.at("trials")[0].at("status"), "ok") << diverged.dump();
  const double sane = c.at("setups")[0].at("summary").at("final_val_accuracy").at("mean").get<double>();
  const json& broken = diverged.at("summary").at("final_val_accuracy").at("mean");
  EXPECT_TRUE(broken.is_null() || broken.get<double>() < sane) << diverged.dump();
}

TEST_F(CompareCommand, RejectsABadConfigBeforeRunningAnything) {
  std::string text = kConfig;
  text.replace(text.find("lr = 0.01 }"), 11, "lr = 0.01, bet = [0.9, 0.99] }");
  const auto result = run_descent("compare " + write_config(text) + " --out " + (dir_ / "cmp").string());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("compare.setups[1] (adam): config: unknown key optimizer.bet (did you mean optimizer.betas?); valid keys: amsgrad, betas,"), std::string::npos)
      << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cmp" / "trials"));
}

}  // namespace
}  // namespace descent::compare
