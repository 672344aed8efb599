// Save -> load -> step equals step: an optimizer restored from state_dict() into fresh parameters continues
// exactly (bitwise) as the original does.
#include "helpers.hpp"

namespace descent::optim::testing {
namespace {

class StateDictRoundTrip : public ::testing::TestWithParam<Config> {};

void check_round_trip(const Config& config, const nlohmann::json& options) {
  auto original_set = make_params(odd_sizes(), true, 3);
  auto original = make_optimizer(config.name, original_set.params, options);
  for (int step = 0; step < 3; ++step) {
    fill_grads(original_set.params, 5, step);
    original->step();
  }
  // A fresh optimizer over copies of the current parameters, loaded from the saved state.
  std::vector<Tensor> copies = clone_all(original_set.params);
  auto restored = make_optimizer(config.name, copies, nlohmann::json{{"state_dtype", options.value("state_dtype", "float32")}});
  restored->load_state_dict(original->state_dict());
  EXPECT_EQ(restored->steps_taken(), 3);
  EXPECT_EQ(restored->state_bytes(), original->state_bytes());
  for (int step = 3; step < 6; ++step) {
    fill_grads(original_set.params, 5, step);
    fill_grads(copies, 5, step);
    original->step();
    restored->step();
  }
  EXPECT_EQ(compare_optimizers(original_set.params, *original, copies, *restored, 0), "") << config.label;
}

TEST_P(StateDictRoundTrip, LoadThenStepEqualsStep) { check_round_trip(GetParam(), GetParam().options); }

TEST_P(StateDictRoundTrip, LoadThenStepEqualsStepBFloat16State) {
  auto options = GetParam().options;
  options["state_dtype"] = "bfloat16";
  check_round_trip(GetParam(), options);
}

INSTANTIATE_TEST_SUITE_P(AllOptimizers, StateDictRoundTrip, ::testing::ValuesIn(all_configs()), config_label);

TEST(StateDict, NamesBuffersByParameterIndexAndKeepsOptions) {
  auto set = make_params({4, 6}, true, 1);
  auto adam = make_optimizer("adam", set.params, {{"lr", 0.5}, {"amsgrad", true}});
  fill_grads(set.params, 1, 0);
  adam->step();
  const auto state = adam->state_dict();
  for (const char* key : {"0.exp_avg", "0.exp_avg_sq", "0.max_exp_avg_sq", "1.exp_avg", "1.exp_avg_sq"})
    EXPECT_TRUE(state.tensors.count(key)) << key;
  EXPECT_EQ(state.tensors.at("1.exp_avg").shape(), Shape{6});
  EXPECT_EQ(state.meta["param_groups"][0]["lr"], 0.5);
  EXPECT_EQ(state.meta["state"][1]["step"], 1);
  EXPECT_EQ(state.meta["optimizer"], "adam");
}

TEST(StateDict, RejectsAnotherOptimizersStateAndMismatchedShapes) {
  auto set = make_params({4, 6}, true, 1);
  auto adam = make_optimizer("adam", set.params, {});
  fill_grads(set.params, 1, 0);
  adam->step();
  auto sgd = make_optimizer("sgd", set.params, {});
  EXPECT_THROW(sgd->load_state_dict(adam->state_dict()), Error);
  auto other = make_params({5, 5}, true, 1);
  auto adam2 = make_optimizer("adam", other.params, {});
  try {
    adam2->load_state_dict(adam->state_dict());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
  }
}

// A malformed "<index>.<buffer>" name is a descent::Error naming the tensor, for the flat-buffer
// optimizers and for Adafactor's own moments alike.
TEST(StateDict, MalformedTensorNamesAreErrorsNamingThem) {
  for (const std::string& name : std::vector<std::string>{"adam", "adafactor"}) {
    auto set = make_params({4, 6}, true, 1);
    auto optimizer = make_optimizer(name, set.params, {});
    fill_grads(set.params, 1, 0);
    optimizer->step();
    const std::string buffer = name == "adam" ? ".exp_avg" : ".variance";
    for (const std::string& key : std::vector<std::string>{"x" + buffer, "-1" + buffer, "1e3" + buffer, "99" + buffer}) {
      auto state = optimizer->state_dict();
      const auto first = state.tensors.begin()->second;
      state.tensors.clear();
      state.tensors[key] = first;
      try {
        optimizer->load_state_dict(state);
        FAIL() << name << " accepted " << key;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      }
    }
  }
}

TEST(StateDict, AStateMissingPartOfABufferIsRefused) {
  auto set = make_params({4, 6, 5}, true, 1);
  auto optimizer = make_optimizer("adam", set.params, {});
  fill_grads(set.params, 1, 0);
  optimizer->step();
  auto expect_error = [&](const StateDict& state, const std::string& part) {
    auto fresh = make_optimizer("adam", set.params, {});
    try {
      fresh->load_state_dict(state);
      FAIL() << "accepted a state without " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  auto one_missing = optimizer->state_dict();
  one_missing.tensors.erase("1.exp_avg");
  expect_error(one_missing, "tensor '1.exp_avg' is missing");
  auto buffer_missing = optimizer->state_dict();
  for (int i = 0; i < 3; ++i) buffer_missing.tensors.erase(std::to_string(i) + ".exp_avg_sq");
  expect_error(buffer_missing, "lists buffer \"exp_avg_sq\" but holds none of its tensors");
  Generator gen(2);
  Tensor matrix = rand(Shape{3, 4}, gen, DType::Float32, -1.0, 1.0);
  matrix.set_grad(rand(Shape{3, 4}, gen, DType::Float32, -1.0, 1.0));
  const std::vector<Tensor> factored{matrix};
  auto adafactor = make_optimizer("adafactor", factored, {});
  adafactor->step();
  auto moments = adafactor->state_dict();
  ASSERT_TRUE(moments.tensors.contains("0.row_var"));
  moments.tensors.erase("0.row_var");
  try {
    make_optimizer("adafactor", factored, {})->load_state_dict(moments);
    FAIL() << "adafactor accepted a state without 0.row_var";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("second moments of parameter 0 are missing"), std::string::npos) << e.what();
  }
  // A count saved as a float out of any integer's range (the checkpoint fuzzer's find) is an error.
  auto float_step = optimizer->state_dict();
  float_step.meta["state"][0]["step"] = 1.5e20;
  expect_error(float_step, "step = 1.5e+20: expected an integer");
  // The complete state still loads.
  EXPECT_NO_THROW(make_optimizer("adam", set.params, {})->load_state_dict(optimizer->state_dict()));
}

}  // namespace
}  // namespace descent::optim::testing
