// Config parsing: defaults, errors that name the key path, the value and the accepted values, "did you
// mean" suggestions, --set overrides and the resolved config's TOML round trip.
#include <gtest/gtest.h>

#include "descent/train/config.hpp"

using namespace descent;
using namespace descent::train;

namespace {

std::string error_of(const std::string& toml, const std::vector<std::string>& overrides = {}) {
  try {
    json raw = parse_toml(toml, "test.toml");
    for (const auto& o : overrides) apply_override(raw, o);
    parse_config(raw);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

void expect_contains(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& part : parts) EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' missing in: " << text;
}

}  // namespace

TEST(Config, AnEmptyConfigResolvesToTheDocumentedDefaults) {
  const Config c = parse_config(parse_toml("", "empty"));
  EXPECT_EQ(c.data.dataset, "linear_regression");
  EXPECT_EQ(c.data.batch_size, 32);
  EXPECT_EQ(c.model.type, "mlp");
  EXPECT_EQ(c.model.hidden, (std::vector<std::int64_t>{64, 64}));
  EXPECT_EQ(c.optimizer.name, "sgd");
  EXPECT_FALSE(c.schedule.enabled);
  EXPECT_EQ(c.trainer.epochs, 10);
  EXPECT_EQ(c.resolved["data"]["batch_size"], 32);
  EXPECT_EQ(c.resolved["optimizer"]["lr"], 0.001);  // the optimizer's own defaults are filled in too
}

TEST(Config, UnknownKeysSuggestTheClosestOne) {
  expect_contains(error_of("[data]\nbach_size = 8\n"), {"unknown key data.bach_size", "did you mean data.batch_size?"});
  expect_contains(error_of("[modle]\n"), {"unknown key modle", "did you mean model?"});
  expect_contains(error_of("[trainer.early_stopping]\npatiense = 3\n"),
                  {"trainer.early_stopping.patiense", "did you mean trainer.early_stopping.patience?"});
  expect_contains(error_of("[optimizer]\nname = \"adamw\"\nweight_decy = 0.1\n"),
                  {"optimizer.weight_decy", "did you mean optimizer.weight_decay?", "betas"});
  expect_contains(error_of("[data]\ncompletely_unrelated_key = 1\n"), {"unknown key data.completely_unrelated_key", "batch_size"});
}

TEST(Config, BadValuesNameThePathTheValueAndTheAcceptedValues) {
  expect_contains(error_of("[data]\nbatch_size = -3\n"), {"data.batch_size = -3", "an integer in [1, inf]"});
  expect_contains(error_of("[data]\nbatch_size = \"big\"\n"), {"data.batch_size = \"big\"", "an integer"});
  expect_contains(error_of("[data]\ndataset = \"fashion_mnsit\"\n"),
                  {"data.dataset = \"fashion_mnsit\"", "one of fashion_mnist, csv", "did you mean fashion_mnist?"});
  expect_contains(error_of("[model]\nactivation = \"rleu\"\n"), {"model.activation", "did you mean relu?"});
  expect_contains(error_of("[optimizer]\nname = \"adamx\"\n"), {"optimizer.name = \"adamx\"", "adamw"});
  expect_contains(error_of("[optimizer]\nname = \"sgd\"\nlr = -1.0\n"), {"optimizer", "lr"});
  expect_contains(error_of("[schedule]\nname = \"cosine\"\n"), {"schedule.name = \"cosine\"", "cosineannealinglr"});
  expect_contains(error_of("[schedule]\nname = \"steplr\"\nstep_sise = 3\n"), {"schedule", "step_sise"});
  expect_contains(error_of("[schedule]\nstep_size = 3\n"), {"config: schedule.name is required: expected one of", "steplr"});
  expect_contains(error_of("[model]\nhidden = [100000000000]\n"), {"model.hidden = [100000000000]", "[1, 1048576]"});
  expect_contains(error_of("[data]\ndataset = \"two_moons\"\nsamples = 4000000000\n"), {"data.samples = 4000000000"});
  expect_contains(error_of("[model]\ntype = \"transformer\"\nd_model = 10\nnhead = 4\n"), {"model.nhead = 4", "divisor"});
  expect_contains(error_of("[transforms]\nnonfinite = \"ignore\"\n"), {"transforms.nonfinite", "skip, raise"});
  expect_contains(error_of("[data]\ndataset = \"csv\"\n"), {"data.path"});
  expect_contains(error_of("seed = 1.5\n"), {"seed = 1.5", "an integer"});
  expect_contains(error_of("[data]\nshuffle = 1\n"), {"data.shuffle = 1", "true or false"});
  expect_contains(error_of("data = 3\n"), {"data = 3", "a table"});
}

TEST(Config, RunNamesAreOneSafeFolderName) {
  for (const char* name : {"../../escape", "/some/abs/dir", "a/b", "..", "a\\nb\\tc", "a\\u0000b", ""})
    expect_contains(error_of(std::string("name = \"") + name + "\"\n"), {"config: name = ", "1 to 64 letters, digits, spaces"});
  EXPECT_EQ(error_of("name = \"my-run_2.b\"\n"), "no error");
}

TEST(Config, HugeValuesAreCutInErrors) {
  const std::string message = error_of("[data]\nbatch_size = \"" + std::string(1000000, 'x') + "\"\n");
  expect_contains(message, {"data.batch_size = \"xxxx", "more bytes)", "an integer"});
  EXPECT_LT(message.size(), 400u);
}

TEST(Config, TomlSyntaxErrorsGiveTheLine) {
  expect_contains(error_of("[data]\nbatch_size = = 3\n"), {"test.toml:2", "TOML syntax error"});
}

TEST(Config, OverridesSetNestedKeysWithTomlValues) {
  json raw = parse_toml("[optimizer]\nname = \"sgd\"\n", "t");
  apply_override(raw, "optimizer.lr=0.05");
  apply_override(raw, "data.dataset=two_moons");
  apply_override(raw, "model.hidden=[8, 8]");
  apply_override(raw, "trainer.early_stopping.enabled=true");
  const Config c = parse_config(raw);
  EXPECT_DOUBLE_EQ(c.optimizer.options["lr"].get<double>(), 0.05);
  EXPECT_EQ(c.data.dataset, "two_moons");
  EXPECT_EQ(c.model.hidden, (std::vector<std::int64_t>{8, 8}));
  EXPECT_TRUE(c.trainer.early_stopping.enabled);
  expect_contains(error_of("", {"novalue"}), {"--set 'novalue'", "key.path=value"});
  expect_contains(error_of("seed = 1\n", {"seed.x=2"}), {"seed is a value, not a table"});
  expect_contains(error_of("", {"data.batchsize=4"}), {"did you mean data.batch_size?"});
  EXPECT_EQ(error_of("[optimizer]\nname = \"adamw\"\nstate_dtype = \"bfloat16\"\n"), "no error");
  expect_contains(error_of("[optimizer]\nname = \"adamw\"\nstate_dtype = \"int4\"\n"), {"optimizer", "int4"});
}

TEST(Config, TheResolvedConfigRoundTripsThroughToml) {
  const Config c = parse_config(parse_toml(R"(
name = "round trip"
[data]
dataset = "two_spirals"
[model]
type = "transformer"
[optimizer]
name = "adamw"
lr = 3e-4
groups = [{ match = ["embed"], lr = 1e-3 }]
[schedule]
name = "warmup_cosine"
warmup_steps = 10
total_steps = "auto"
[transforms]
max_norm = 1.0
[transforms.loss_scaling]
init_scale = 1024.0
[trainer.plateau]
factor = 0.5
)", "t"));
  const std::string text = to_toml(c.resolved);
  const Config again = parse_config(parse_toml(text, "resolved"));
  EXPECT_EQ(again.resolved, c.resolved) << text;
  EXPECT_EQ(again.schedule.options["total_steps"], "auto");
  EXPECT_EQ(again.optimizer.groups.size(), 1u);
  EXPECT_DOUBLE_EQ(*again.transforms.pipeline.max_norm, 1.0);
  EXPECT_DOUBLE_EQ(again.transforms.pipeline.loss_scaling->init_scale, 1024.0);
}


TEST(Config, PrecisionIsCheckedAndFp16TurnsLossScalingOn) {
  expect_contains(error_of("[trainer]\nprecision = \"fp8\"\n"),
                  {"trainer.precision = \"fp8\"", "one of fp32, bf16, fp16"});
  expect_contains(error_of("[trainer]\nprecision = \"bf61\"\n"), {"did you mean bf16?"});
  EXPECT_EQ(parse_config(parse_toml("", "t")).trainer.precision, "fp32");
  EXPECT_FALSE(parse_config(parse_toml("[trainer]\nprecision = \"bf16\"\n", "t")).transforms.pipeline.loss_scaling);
  const Config fp16 = parse_config(parse_toml("[trainer]\nprecision = \"fp16\"\n", "t"));
  ASSERT_TRUE(fp16.transforms.pipeline.loss_scaling);
  EXPECT_TRUE(fp16.transforms.pipeline.loss_scaling->enabled);
  EXPECT_EQ(fp16.resolved["transforms"]["loss_scaling"]["init_scale"], 65536.0);
  // The config's own [transforms.loss_scaling] wins, including turning it off.
  const Config off = parse_config(
      parse_toml("[trainer]\nprecision = \"fp16\"\n[transforms.loss_scaling]\nenabled = false\n", "t"));
  ASSERT_TRUE(off.transforms.pipeline.loss_scaling);
  EXPECT_FALSE(off.transforms.pipeline.loss_scaling->enabled);
}
