// Resuming at step k (fresh schedule + saved state) gives exactly the values of an uninterrupted run, for
// every factory schedule, compositions holding a plateau, MultiplicativeLR's cache and a binding.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "descent/schedule/binding.hpp"
#include "descent/schedule/factory.hpp"
#include "descent/schedule/lambda.hpp"

namespace {

using namespace descent::schedule;
using nlohmann::json;
using Factory = std::function<SchedulePtr()>;

constexpr std::int64_t kSteps = 80;

// A noisy, slowly improving loss: plateaus and reductions happen within kSteps.
double metric_at(std::int64_t step) {
  return 1.0 / (1.0 + 0.05 * static_cast<double>(step)) + 0.08 * std::sin(1.7 * static_cast<double>(step));
}

// One entry per factory name (checked below), with options that make every part of it move.
const std::map<std::string, json>& samples() {
  static const std::map<std::string, json> table = {
      {"lambdalr", json::parse(R"({"factors": [1.0, 0.9, 0.7, 0.4]})")},
      {"multiplicativelr", json::parse(R"({"factor": 0.97})")},
      {"steplr", json::parse(R"({"step_size": 7, "gamma": 0.6})")},
      {"multisteplr", json::parse(R"({"milestones": [10, 30, 31], "gamma": 0.3})")},
      {"constantlr", json::parse(R"({"factor": 0.4, "total_iters": 9})")},
      {"linearlr", json::parse(R"({"start_factor": 0.2, "total_iters": 15})")},
      {"exponentiallr", json::parse(R"({"gamma": 0.95})")},
      {"polynomiallr", json::parse(R"({"total_iters": 50, "power": 1.7})")},
      {"cosineannealinglr", json::parse(R"({"T_max": 30, "eta_min": 0.001})")},
      {"cosineannealingwarmrestarts", json::parse(R"({"T_0": 5, "T_mult": 2, "eta_min": 0.001})")},
      {"chainedscheduler", json::parse(R"({"schedulers": [["warmup_cosine", {"warmup_steps": 10, "total_steps": 80}],
                                                          ["reducelronplateau", {"factor": 0.5, "patience": 2}]]})")},
      {"sequentiallr", json::parse(R"({"schedulers": [["linearlr", {"start_factor": 0.1, "total_iters": 10}],
                                                      ["reducelronplateau",
                                                       {"factor": 0.5, "patience": 1, "cooldown": 2}]],
                                       "milestones": [10]})")},
      {"reducelronplateau", json::parse(R"({"factor": 0.5, "patience": 2, "cooldown": 1, "min_lr": 0.01})")},
      {"cycliclr", json::parse(R"({"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 6, "mode": "triangular2"})")},
      {"onecyclelr", json::parse(R"({"max_lr": 0.5, "total_steps": 80, "three_phase": true})")},
      {"warmup_cosine", json::parse(R"({"warmup_steps": 10, "total_steps": 60, "end_factor": 0.1})")},
      {"warmup_linear", json::parse(R"({"warmup_steps": 10, "total_steps": 60})")},
      {"inverse_sqrt", json::parse(R"({"warmup_steps": 10})")},
      {"warmup_stable_decay", json::parse(R"({"warmup_steps": 10, "stable_steps": 20, "decay_steps": 30})")},
      {"piecewise_constant", json::parse(R"({"boundaries": [10, 40], "scales": [0.5, 0.2]})")},
  };
  return table;
}

struct Trace {
  std::vector<double> values;
  std::vector<double> momenta;  // NaN where the schedule does not cycle momentum
};

// Runs steps [begin, end) as a trainer would: read the values, then report the step's metric.
void run(Schedule& schedule, std::int64_t begin, std::int64_t end, Trace& trace) {
  for (std::int64_t step = begin; step < end; ++step) {
    trace.values.push_back(schedule.value(step, 0.1));
    trace.momenta.push_back(schedule.momentum(step).value_or(std::nan("")));
    schedule.observe(step, metric_at(step));
  }
}

void expect_resume_matches(const Factory& make, const std::string& label) {
  Trace uninterrupted;
  auto whole = make();
  run(*whole, 0, kSteps, uninterrupted);
  for (const std::int64_t resume_at : {1, 7, 23, 41, 79}) {
    Trace resumed;
    auto first = make();
    run(*first, 0, resume_at, resumed);
    const std::string saved = first->state().dump();  // through text, as a checkpoint would
    auto second = make();
    second->load_state(json::parse(saved));
    run(*second, resume_at, kSteps, resumed);
    for (std::int64_t step = 0; step < kSteps; ++step) {
      const auto i = static_cast<std::size_t>(step);
      ASSERT_EQ(resumed.values[i], uninterrupted.values[i])
          << label << " resumed at " << resume_at << ", step " << step;
      if (std::isnan(uninterrupted.momenta[i])) {
        ASSERT_TRUE(std::isnan(resumed.momenta[i])) << label;
      } else {
        ASSERT_EQ(resumed.momenta[i], uninterrupted.momenta[i]) << label << " momentum, step " << step;
      }
    }
  }
}

TEST(Resume, EveryFactoryScheduleHasASample) {
  for (const auto& name : schedule_names()) EXPECT_TRUE(samples().count(name)) << "no resume sample for " << name;
}

TEST(Resume, EveryFactoryScheduleResumesExactly) {
  for (const auto& sample : samples()) {
    const std::string& name = sample.first;  // a lambda cannot capture a structured binding in clang 14
    const auto& options = sample.second;
    expect_resume_matches([&] { return make_schedule(name, options); }, name);
  }
}

TEST(Resume, PlateauStateActuallyChangesTheValues) {
  // Guards the test above: without the saved state the plateau composition would resume differently.
  const auto& options = samples().at("sequentiallr");
  auto whole = make_schedule("sequentiallr", options);
  Trace trace;
  run(*whole, 0, kSteps, trace);
  EXPECT_LT(trace.values.back(), trace.values[10] * 0.5) << "the plateau never reduced";
  auto fresh = make_schedule("sequentiallr", options);
  EXPECT_NE(fresh->value(kSteps - 1, 0.1), trace.values.back());
}

TEST(Resume, MultiplicativeWithAStepDependentFunction) {
  const Factory make = [] {
    return std::make_shared<MultiplicativeLR>(
        [](std::int64_t step) { return 1.0 - 0.01 * static_cast<double>(step % 3); });
  };
  expect_resume_matches(make, "multiplicativelr");
}

TEST(Resume, BindingRestoresBasesAndScheduleState) {
  const auto& options = samples().at("chainedscheduler");
  ScheduleBinding whole{make_schedule("chainedscheduler", options), "lr", {0, 1}, {0.1, 0.02}};
  std::vector<HyperparameterValue> expected, got;
  for (std::int64_t step = 0; step < kSteps; ++step) {
    for (const auto& v : whole.values_at(step)) expected.push_back(v);
    whole.observe(step, metric_at(step));
  }
  ScheduleBinding first{make_schedule("chainedscheduler", options), "lr", {0, 1}, {0.1, 0.02}};
  for (std::int64_t step = 0; step < 30; ++step) {
    for (const auto& v : first.values_at(step)) got.push_back(v);
    first.observe(step, metric_at(step));
  }
  const std::string saved = first.state().dump();
  // The trainer rebinds after loading the optimizer, whose lr is now the scheduled one, not the base.
  ScheduleBinding second{make_schedule("chainedscheduler", options), "lr", {0, 1}, {0.0123, 0.0045}};
  second.load_state(json::parse(saved));
  for (std::int64_t step = 30; step < kSteps; ++step) {
    for (const auto& v : second.values_at(step)) got.push_back(v);
    second.observe(step, metric_at(step));
  }
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].group, expected[i].group);
    EXPECT_EQ(got[i].value, expected[i].value) << "entry " << i;
  }
}

}  // namespace

namespace {

// A function object with state of its own (it counts the steps it has seen), saved through FunctionState.
struct CountingLambda {
  std::shared_ptr<std::int64_t> calls = std::make_shared<std::int64_t>(0);
  descent::schedule::SchedulePtr make() const {
    auto counter = calls;
    return std::make_shared<descent::schedule::LambdaLR>(
        [counter](std::int64_t step) { return 1.0 / static_cast<double>(1 + step + (++*counter % 2)); },
        descent::schedule::FunctionState{
            [counter] { return nlohmann::json(*counter); },
            [counter](const nlohmann::json& saved) { *counter = saved.get<std::int64_t>(); }});
  }
};

TEST(Resume, LambdaWithStatefulFunctionRestoresItsState) {
  CountingLambda whole_state, first_state, second_state;
  auto whole = whole_state.make();
  std::vector<double> expected, got;
  for (std::int64_t step = 0; step < 20; ++step) expected.push_back(whole->value(step, 1.0));
  auto first = first_state.make();
  for (std::int64_t step = 0; step < 9; ++step) got.push_back(first->value(step, 1.0));
  const std::string saved = first->state().dump();
  auto second = second_state.make();
  second->load_state(nlohmann::json::parse(saved));
  EXPECT_EQ(*second_state.calls, 9);
  for (std::int64_t step = 9; step < 20; ++step) got.push_back(second->value(step, 1.0));
  EXPECT_EQ(got, expected);
}

}  // namespace
