// Invalid options, unknown names and unknown hyperparameters raise descent::Error naming the bad value
// and what is valid.
#include <limits>
#include <gmock/gmock.h>

#include "helpers.hpp"

namespace descent::optim::testing {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::string& name, const nlohmann::json& options) {
  auto set = make_params({3}, false, 1);
  try {
    make_optimizer(name, set.params, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OptimizerErrors, InvalidHyperparametersNameOptionValueAndRange) {
  EXPECT_THAT(error_of("adam", {{"lr", -0.1}}), HasSubstr("adam: lr = -0.1: expected a finite lr >= 0"));
  EXPECT_THAT(error_of("adamw", {{"betas", {0.9, 1.0}}}), HasSubstr("betas[1] = 1: expected 0 <= betas[1] < 1"));
  EXPECT_THAT(error_of("nadam", {{"betas", {-0.1, 0.9}}}), HasSubstr("betas[0] = -0.1"));
  EXPECT_THAT(error_of("adam", {{"eps", -1e-8}}), HasSubstr("eps = -1e-08: expected a finite eps >= 0"));
  EXPECT_THAT(error_of("sgd", {{"weight_decay", -1}}), HasSubstr("weight_decay = -1"));
  // PyTorch accepts an infinite lr; one step then turns every weight NaN, so descent refuses it.
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THAT(error_of("sgd", {{"lr", inf}}), HasSubstr("sgd: lr = inf: expected a finite lr >= 0"));
  EXPECT_THAT(error_of("adam", {{"weight_decay", inf}}), HasSubstr("weight_decay = inf"));
  EXPECT_THAT(error_of("adafactor", {{"lr", inf}}), HasSubstr("adafactor: lr = inf: expected"));
  EXPECT_THAT(error_of("sgd", {{"momentum", -0.5}}), HasSubstr("momentum = -0.5"));
  EXPECT_THAT(error_of("adadelta", {{"rho", 1.5}}), HasSubstr("rho = 1.5: expected 0 <= rho <= 1"));
  EXPECT_THAT(error_of("adagrad", {{"lr_decay", -1}}), HasSubstr("lr_decay = -1"));
  EXPECT_THAT(error_of("adagrad", {{"initial_accumulator_value", -1}}), HasSubstr("initial_accumulator_value = -1"));
  EXPECT_THAT(error_of("rmsprop", {{"alpha", -0.1}}), HasSubstr("alpha = -0.1"));
  EXPECT_THAT(error_of("rprop", {{"etas", {1.5, 1.2}}}), HasSubstr("etas[0] = 1.5: expected 0 < etas[0] < 1"));
  EXPECT_THAT(error_of("rprop", {{"etas", {0.5, 0.9}}}), HasSubstr("etas[1] = 0.9"));
  EXPECT_THAT(error_of("nadam", {{"momentum_decay", -1}}), HasSubstr("momentum_decay = -1"));
}

// torch.optim.AdamW has no decoupled_weight_decay keyword; Adam has it.
TEST(OptimizerErrors, AdamWHasNoDecoupledWeightDecayOption) {
  EXPECT_THAT(error_of("adamw", {{"decoupled_weight_decay", false}}), HasSubstr("decoupled_weight_decay"));
  EXPECT_EQ(error_of("adam", {{"decoupled_weight_decay", true}}), "(no error)");
}

TEST(OptimizerErrors, NesterovNeedsMomentumAndNoDampening) {
  EXPECT_THAT(error_of("sgd", {{"nesterov", true}}), HasSubstr("nesterov = true requires momentum > 0 and dampening = 0"));
  EXPECT_THAT(error_of("sgd", {{"nesterov", true}, {"momentum", 0.9}, {"dampening", 0.1}}),
              HasSubstr("dampening = 0.1"));
  EXPECT_EQ(error_of("sgd", {{"nesterov", true}, {"momentum", 0.9}}), "(no error)");
}

TEST(OptimizerErrors, UnknownOptionListsValidOptions) {
  EXPECT_THAT(error_of("adam", {{"beta1", 0.9}}),
              HasSubstr("adam: unknown key beta1 (did you mean betas?); valid keys: amsgrad, betas, "
                        "decoupled_weight_decay, eps, lr, maximize, weight_decay"));
}

TEST(OptimizerErrors, WrongOptionTypeSaysWhatIsExpected) {
  EXPECT_THAT(error_of("adam", {{"betas", 0.9}}), HasSubstr("adam: betas = 0.9: expected an array of 2 numbers"));
  EXPECT_THAT(error_of("adam", {{"amsgrad", 1}}), HasSubstr("expected true or false"));
  EXPECT_THAT(error_of("sgd", {{"lr", "fast"}}), HasSubstr("expected a number"));
  EXPECT_THAT(error_of("adam", {{"state_dtype", "float16"}}), HasSubstr("state_dtype"));
}

TEST(OptimizerErrors, UnknownOptimizerListsRegistry) {
  const std::string message = error_of("adamm", {});
  EXPECT_THAT(message, HasSubstr("unknown optimizer 'adamm' (did you mean adam?); valid names: "));
  for (const auto& name : optimizer_names()) EXPECT_THAT(message, HasSubstr(name));
  for (const char* name : {"sgd", "adam", "adamw", "adamax", "nadam", "radam", "adagrad", "adadelta", "rmsprop",
                           "rprop", "asgd"})
    EXPECT_THAT(message, HasSubstr(name));
}

TEST(OptimizerErrors, HyperparameterByUnknownNameListsValidNames) {
  auto set = make_params({3}, false, 1);
  auto adam = make_optimizer("adam", set.params, {});
  try {
    adam->set_hyperparameter(0, "learning_rate", 0.1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("unknown hyperparameter 'learning_rate'; valid names: lr, "
                                                 "beta1, beta2, eps, weight_decay"));
  }
  EXPECT_THROW(adam->hyperparameter(0, "momentum"), Error);
  EXPECT_THROW(adam->hyperparameter(1, "lr"), Error);
  EXPECT_THAT([&] {
    try {
      adam->set_hyperparameter(0, "beta2", 1.0);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }(), HasSubstr("betas[1] = 1: expected"));
  EXPECT_DOUBLE_EQ(adam->hyperparameter(0, "beta2"), 0.999);  // unchanged after the rejected value
}

TEST(OptimizerErrors, BadParametersAndGradients) {
  auto set = make_params({3}, false, 1);
  auto p = set.params[0];
  EXPECT_THROW(make_optimizer("sgd", {p, p}, {}), Error);  // the same tensor twice
  Tensor ints = zeros(Shape{3}, DType::Int64);
  EXPECT_THROW(make_optimizer("sgd", {ints}, {}), Error);
  Tensor base = zeros(Shape{4, 4});
  Tensor column = as_strided(base, Shape{4}, Shape{4}, 0);
  EXPECT_THROW(make_optimizer("sgd", {column}, {}), Error);  // not contiguous
  auto sgd = make_optimizer("sgd", set.params, {});
  EXPECT_THROW(sgd->add_param_group({}, {}), Error);
  EXPECT_THROW(sgd->scaled_step(std::nan("")), Error);
}

}  // namespace
}  // namespace descent::optim::testing
