// Bad names, options and values raise descent::Error naming the thing, the value and what is expected.
#include <gtest/gtest.h>

#include "descent/core/error.hpp"
#include "descent/schedule/compose.hpp"
#include "descent/schedule/factory.hpp"
#include "descent/schedule/lambda.hpp"
#include "descent/schedule/plateau.hpp"

namespace {

using namespace descent::schedule;
using nlohmann::json;

// The message of the Error `make` throws ("" if it throws none, which fails the calling check).
template <class Make>
std::string error_of(Make make) {
  try {
    make();
  } catch (const descent::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no descent::Error was thrown";
  return "";
}

std::string factory_error(const std::string& name, const std::string& options) {
  return error_of([&] { make_schedule(name, json::parse(options)); });
}

void expect_mentions(const std::string& message, std::initializer_list<const char*> parts) {
  for (const char* part : parts) EXPECT_NE(message.find(part), std::string::npos) << message << "\n lacks: " << part;
}

TEST(Errors, UnknownScheduleListsValidNames) {
  expect_mentions(factory_error("cosine", "{}"), {"unknown schedule 'cosine'", "cosineannealinglr", "onecyclelr"});
}

TEST(Errors, NamesAreCaseInsensitive) { EXPECT_NO_THROW(make_schedule("StepLR", {{"step_size", 3}})); }

TEST(Errors, UnknownOptionListsValidOptions) {
  expect_mentions(factory_error("steplr", R"({"step_size": 3, "gama": 0.5})"),
                  {"unknown key gama (did you mean gamma?)", "valid keys: gamma, step_size"});
  // Reported before a missing required option, so a typo is named as such.
  expect_mentions(factory_error("steplr", R"({"stepsize": 3})"), {"unknown key stepsize (did you mean step_size?)"});
}

TEST(Errors, MissingRequiredOptions) {
  expect_mentions(factory_error("onecyclelr", R"({"max_lr": 0.1})"), {"total_steps is required", "epochs"});
  expect_mentions(factory_error("cosineannealinglr", "{}"), {"T_max is required"});
  expect_mentions(factory_error("sequentiallr", R"({"schedulers": [["steplr", {"step_size": 2}]]})"),
                  {"milestones is required"});
}

TEST(Errors, InvalidValuesNameOptionValueAndRange) {
  expect_mentions(factory_error("cosineannealinglr", R"({"T_max": -5})"), {"T_max = -5", ">= 1"});
  expect_mentions(factory_error("exponentiallr", R"({"gamma": 0})"), {"gamma = 0", "> 0"});
  expect_mentions(factory_error("steplr", R"({"step_size": 2, "gamma": -1})"), {"gamma = -1"});
  expect_mentions(factory_error("multisteplr", R"({"milestones": [30, 20]})"),
                  {"milestones = [30,20]", "strictly increasing"});
  expect_mentions(factory_error("linearlr", R"({"start_factor": 0})"), {"start_factor = 0", "(0, 1]"});
  expect_mentions(factory_error("constantlr", R"({"factor": 1.5})"), {"factor = 1.5", "[0, 1]"});
  expect_mentions(factory_error("onecyclelr", R"({"max_lr": 0.1, "total_steps": 10, "pct_start": 1.2})"),
                  {"pct_start = 1.2", "[0, 1]"});
  expect_mentions(factory_error("onecyclelr", R"({"max_lr": 0.1, "total_steps": 10, "anneal_strategy": "exp"})"),
                  {"anneal_strategy = exp", "\"cos\" or \"linear\""});
  expect_mentions(factory_error("cycliclr", R"({"base_lr": 0.1, "max_lr": 1, "mode": "sawtooth"})"),
                  {"mode = sawtooth", "triangular2"});
  expect_mentions(factory_error("cycliclr", R"({"base_lr": 0.1, "max_lr": 1, "scale_mode": "iterations"})"),
                  {"scale_mode = ", "scale_fn"});
  expect_mentions(factory_error("reducelronplateau", R"({"factor": 1.0})"), {"factor = 1", "(0, 1)"});
  expect_mentions(factory_error("reducelronplateau", R"({"mode": "up"})"), {"mode = up", "\"min\" or \"max\""});
  expect_mentions(factory_error("reducelronplateau", R"({"threshold_mode": "pct"})"), {"threshold_mode = pct"});
  expect_mentions(factory_error("cosineannealingwarmrestarts", R"({"T_0": 5, "T_mult": 0})"), {"T_mult = 0"});
  expect_mentions(factory_error("warmup_cosine", R"({"warmup_steps": 10, "total_steps": 10})"),
                  {"total_steps = 10", "> warmup_steps = 10"});
  expect_mentions(factory_error("warmup_stable_decay", R"({"decay_steps": 5, "decay_type": "exp"})"),
                  {"decay_type = exp"});
  expect_mentions(factory_error("piecewise_constant", R"({"boundaries": [1, 2], "scales": [0.5]})"),
                  {"scales = ", "one per boundary"});
}

TEST(Errors, WrongTypes) {
  expect_mentions(factory_error("steplr", R"({"step_size": 2.5})"), {"step_size = 2.5", "an integer"});
  expect_mentions(factory_error("steplr", R"({"step_size": "ten"})"), {"step_size = \"ten\"", "an integer"});
  expect_mentions(factory_error("onecyclelr", R"({"max_lr": 1, "total_steps": 9, "three_phase": 1})"),
                  {"three_phase = 1", "true or false"});
  expect_mentions(factory_error("steplr", "[1, 2]"), {"steplr: options = [1,2]: expected a table of options"});
  EXPECT_NO_THROW(make_schedule("steplr", json::parse(R"({"step_size": 2.0})")));  // integral floats are fine
}

TEST(Errors, CompositionErrors) {
  expect_mentions(factory_error("sequentiallr", R"({"schedulers": [["steplr", {"step_size": 2}], ["exponentiallr",
                                                   {"gamma": 0.9}]], "milestones": [3, 5]})"),
                  {"milestones = [3,5]", "1 milestones"});
  expect_mentions(factory_error("chainedscheduler", R"({"schedulers": []})"), {"schedulers = ", "non-empty"});
  expect_mentions(factory_error("chainedscheduler", R"({"schedulers": [42]})"), {"chainedscheduler: schedulers = [42]: expected"});
  // A nested schedule's own error comes through.
  expect_mentions(factory_error("chainedscheduler", R"({"schedulers": [["exponentiallr", {"gamma": -2}]]})"),
                  {"exponentiallr: gamma = -2: expected"});
}

TEST(Errors, LoadStateRejectsForeignState) {
  ReduceLROnPlateau plateau;
  expect_mentions(error_of([&] { plateau.load_state(json::parse(R"({"best": 1.0})")); }), {"num_bad_epochs"});
  auto pure = make_schedule("steplr", {{"step_size", 2}});
  expect_mentions(error_of([&] { pure->load_state(json::parse(R"({"step": 3})")); }), {"steplr", "expected null"});
  MultiplicativeLR multiplicative([](std::int64_t) { return 0.9; });
  expect_mentions(error_of([&] { multiplicative.load_state(json::parse(R"({"step": -1, "product": 1})")); }),
                  {"multiplicativelr"});
  auto sequence = make_schedule("sequentiallr", json::parse(R"({"schedulers": [["steplr", {"step_size": 2}],
      ["reducelronplateau", {}]], "milestones": [4]})"));
  expect_mentions(error_of([&] { sequence->load_state(json::array({nullptr})); }), {"array of 2 states"});
}

}  // namespace
