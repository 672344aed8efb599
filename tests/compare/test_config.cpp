// Comparison configs: defaults, how a setup's tables apply to the base config, and the errors.
#include <gtest/gtest.h>

#include "descent/compare/config.hpp"
#include "descent/core/error.hpp"
#include "descent/train/config.hpp"

namespace descent::compare {
namespace {

const std::string kBase = R"(
name = "moons"
seed = 5
[data]
dataset = "two_moons"
samples = 200
[model]
hidden = [8]
[optimizer]
name = "adamw"
lr = 0.01
weight_decay = 0.1
no_decay = ["0.weight"]
[schedule]
name = "cosineannealinglr"
T_max = "auto"
[trainer]
epochs = 2
)";

CompareConfig parse(const std::string& compare_table, int cores = 4) {
  return parse_compare_config(train::parse_toml(kBase + compare_table, "test"), "fallback", cores);
}

std::string error_of(const std::string& compare_table) {
  try {
    parse(compare_table);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kTwoSetups = R"(
[[compare.setups]]
name = "sgd"
optimizer = { name = "sgd", lr = 0.1, momentum = 0.9 }
[[compare.setups]]
name = "adam"
optimizer = { name = "adam", lr = 0.01 }
schedule = "none"
trainer = { epochs = 3 }
)";

TEST(CompareConfig, FillsDefaults) {
  const CompareConfig c = parse("[compare]\nmetric = \"val_accuracy\"\n" + kTwoSetups, 4);
  EXPECT_EQ(c.name, "moons");
  EXPECT_EQ(c.seeds, (std::vector<std::uint64_t>{5, 6, 7}));  // 3 seeds from the base seed
  EXPECT_EQ(c.baseline, "sgd");
  EXPECT_EQ(c.mode, "max");
  EXPECT_EQ(c.at, "final");
  EXPECT_FALSE(c.target);
  EXPECT_EQ(c.parallel, 4);
  EXPECT_EQ(c.threads, 1);
  EXPECT_FALSE(c.base.contains("compare"));
  EXPECT_EQ(parse("[compare]\n" + kTwoSetups, 2).mode, "min");  // val_loss
}

TEST(CompareConfig, ReadsEveryKey) {
  const CompareConfig c = parse(R"(
[compare]
seeds = [11, 3]
baseline = "adam"
metric = "val_loss"
mode = "max"
at = "best"
target = { metric = "val_accuracy", value = 0.8 }
parallel = 1
)" + kTwoSetups, 4);
  EXPECT_EQ(c.seeds, (std::vector<std::uint64_t>{11, 3}));
  EXPECT_EQ(c.baseline, "adam");
  EXPECT_EQ(c.mode, "max");
  EXPECT_EQ(c.at, "best");
  ASSERT_TRUE(c.target);
  EXPECT_EQ(c.target->metric, "val_accuracy");
  EXPECT_EQ(c.target->mode, "max");
  EXPECT_DOUBLE_EQ(c.target->value, 0.8);
  EXPECT_EQ(c.parallel, 1);
  EXPECT_EQ(c.threads, 4);  // parallel x threads = cores
}

TEST(CompareConfig, SetupsReplaceTheOptimizerAndMergeTheRest) {
  const CompareConfig c = parse("[compare]\n" + kTwoSetups);
  const auto sgd = trial_config(c, c.setups[0], 6);
  EXPECT_EQ(sgd.at("optimizer").at("name"), "sgd");
  EXPECT_FALSE(sgd.at("optimizer").contains("weight_decay"));               // the base's options are gone
  EXPECT_EQ(sgd.at("optimizer").at("no_decay"), nlohmann::json::array({"0.weight"}));  // its structure stays
  EXPECT_EQ(sgd.at("schedule").at("name"), "cosineannealinglr");
  EXPECT_EQ(sgd.at("seed"), 6);
  EXPECT_EQ(sgd.at("name"), "moons-sgd-seed6");
  EXPECT_EQ(sgd.at("trainer").at("epochs"), 2);
  EXPECT_EQ(sgd.at("trainer").at("threads"), c.threads);
  const auto adam = trial_config(c, c.setups[1], 6);
  EXPECT_FALSE(adam.contains("schedule"));
  EXPECT_EQ(adam.at("trainer").at("epochs"), 3);
  // Pairing: only the optimizer, schedule and trainer differ between the setups of one seed.
  EXPECT_EQ(sgd.at("data"), adam.at("data"));
  EXPECT_EQ(sgd.at("model"), adam.at("model"));
  EXPECT_EQ(sgd.at("seed"), adam.at("seed"));
}

TEST(CompareConfig, ErrorsNameTheKeyAndWhatIsAccepted) {
  EXPECT_NE(error_of("").find("no [compare] table"), std::string::npos);
  EXPECT_NE(error_of("[compare]\nsedes = 3\n" + kTwoSetups).find("unknown key compare.sedes (did you mean compare.seeds?)"),
            std::string::npos);
  EXPECT_NE(error_of("[compare]\nsedes = 3\n" + kTwoSetups).find("valid keys: at, baseline, metric, mode, parallel, seeds, setups, target"), std::string::npos);
  EXPECT_NE(error_of("[compare]\nbaseline = \"adamw\"\n" + kTwoSetups).find("compare.baseline = \"adamw\": expected one of sgd, adam"),
            std::string::npos);
  EXPECT_NE(error_of("[compare]\nseeds = 0\n" + kTwoSetups).find("compare.seeds = 0: expected an integer in [1, inf]"), std::string::npos);
  EXPECT_NE(error_of("[compare]\nseeds = [1, 1]\n" + kTwoSetups).find("compare.seeds = [1,1]: expected a count (an integer >= 1) or a list of distinct integers >= 0"), std::string::npos);
  EXPECT_NE(error_of("[compare]\nmetric = \"accuracy\"\n" + kTwoSetups).find("starting with val_ or train_"), std::string::npos);
  EXPECT_NE(error_of("[compare]\nat = \"last\"\n" + kTwoSetups).find("compare.at = \"last\": expected one of final, best"),
            std::string::npos);
  EXPECT_NE(error_of("[compare]\nparallel = -1\n" + kTwoSetups).find("compare.parallel = -1"), std::string::npos);
  EXPECT_NE(error_of("[compare]\ntarget = { value = \"high\" }\n" + kTwoSetups).find("compare.target.value"), std::string::npos);
  EXPECT_NE(error_of("[compare]\n[[compare.setups]]\nname = \"one\"\n").find("at least two"), std::string::npos);
  EXPECT_NE(error_of("[compare]\n" + kTwoSetups + "[[compare.setups]]\nname = \"sgd\"\n").find("no other setup has"), std::string::npos);
  EXPECT_NE(error_of("[compare]\n" + kTwoSetups + "[[compare.setups]]\nname = \"a b\"\n").find("names the trial folders"),
            std::string::npos);
  // A setup may not change the data or the model: the trials would no longer be paired.
  EXPECT_NE(error_of("[compare]\n" + kTwoSetups + "[[compare.setups]]\nname = \"wide\"\nmodel = { hidden = [64] }\n")
                .find("unknown key compare.setups[2].model"),
            std::string::npos);
  EXPECT_NE(error_of("[compare]\n" + kTwoSetups + "[[compare.setups]]\nname = \"x\"\noptimizer = { lr = 0.1 }\n")
                .find("compare.setups[2].optimizer.name is required: expected the algorithm's name"),
            std::string::npos);
  // Each setup's training config is validated before anything runs.
  const std::string bad_option = error_of("[compare]\n" + kTwoSetups + "[[compare.setups]]\nname = \"lion\"\noptimizer = { name = \"lion\", momentum = 0.9 }\n");
  EXPECT_NE(bad_option.find("compare.setups[2] (lion): config: unknown key optimizer.momentum"), std::string::npos) << bad_option;
}

}  // namespace
}  // namespace descent::compare
