#include "descent/schedule/lambda.hpp"
#include "descent/core/json_integer.hpp"

#include "descent/core/error.hpp"

namespace descent::schedule {

namespace {
void check_function(const StepFunction& lr_lambda, const FunctionState& hooks, const std::string& schedule) {
  DESCENT_CHECK(lr_lambda != nullptr, schedule, ": lr_lambda is empty: expected a function of the step");
  DESCENT_CHECK((hooks.save == nullptr) == (hooks.load == nullptr), schedule,
                ": FunctionState has only one of save and load: expected both or neither");
}

nlohmann::json saved_function(const FunctionState& hooks) { return hooks.save ? hooks.save() : nullptr; }

void load_function(const FunctionState& hooks, const nlohmann::json& state, const std::string& schedule) {
  const auto saved = state.is_object() && state.contains("function") ? state["function"] : nlohmann::json();
  if (hooks.load) {
    hooks.load(saved);
  } else {
    DESCENT_CHECK(saved.is_null(), schedule, ": load_state got function state ", saved.dump(),
                  ": expected none (this lr_lambda has no FunctionState hooks)");
  }
}
}  // namespace

LambdaLR::LambdaLR(StepFunction lr_lambda, FunctionState function_state)
    : lr_lambda_(std::move(lr_lambda)), function_state_(std::move(function_state)) {
  check_function(lr_lambda_, function_state_, name());
}

double LambdaLR::compute(std::int64_t step, double base) const { return base * lr_lambda_(step); }

nlohmann::json LambdaLR::state() const {
  if (!function_state_.save) return nullptr;
  return {{"function", saved_function(function_state_)}};
}

void LambdaLR::load_state(const nlohmann::json& state) {
  DESCENT_CHECK(state.is_null() || (state.is_object() && state.size() == 1 && state.contains("function")), name(),
                ": load_state got ", state.dump(), ": expected null or {\"function\": ...}");
  load_function(function_state_, state, name());
}

MultiplicativeLR::MultiplicativeLR(StepFunction lr_lambda, FunctionState function_state)
    : lr_lambda_(std::move(lr_lambda)), function_state_(std::move(function_state)) {
  check_function(lr_lambda_, function_state_, name());
}

double MultiplicativeLR::compute(std::int64_t step, double base) const {
  if (step < cached_step_) {  // going back in time: replay from the start
    cached_step_ = 0;
    cached_product_ = 1.0;
  }
  while (cached_step_ < step) {
    ++cached_step_;
    cached_product_ *= lr_lambda_(cached_step_);
  }
  return base * cached_product_;
}

double MultiplicativeLR::chained(std::int64_t step, double current, double) const {
  return step == 0 ? current : current * lr_lambda_(step);
}

nlohmann::json MultiplicativeLR::state() const {
  nlohmann::json state = {{"step", cached_step_}, {"product", cached_product_}};
  if (function_state_.save) state["function"] = saved_function(function_state_);
  return state;
}

void MultiplicativeLR::load_state(const nlohmann::json& state) {
  DESCENT_CHECK(state.is_object() && state.contains("step") && state["step"].is_number_integer() &&
                    json_integer(state["step"], "step") >= 0 && state.contains("product") &&
                    state["product"].is_number(),
                name(), ": load_state got ", state.dump(),
                ": expected {\"step\": integer >= 0, \"product\": number}");
  load_function(function_state_, state, name());
  cached_step_ = json_integer(state["step"], "step");
  cached_product_ = state["product"].get<double>();
}

}  // namespace descent::schedule
