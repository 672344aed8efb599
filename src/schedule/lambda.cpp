#include "descent/schedule/lambda.hpp"

#include "descent/core/error.hpp"

namespace descent::schedule {

LambdaLR::LambdaLR(StepFunction lr_lambda) : lr_lambda_(std::move(lr_lambda)) {
  DESCENT_CHECK(lr_lambda_ != nullptr, name(), ": lr_lambda is empty: expected a function of the step");
}

double LambdaLR::compute(std::int64_t step, double base) const { return base * lr_lambda_(step); }

MultiplicativeLR::MultiplicativeLR(StepFunction lr_lambda) : lr_lambda_(std::move(lr_lambda)) {
  DESCENT_CHECK(lr_lambda_ != nullptr, name(), ": lr_lambda is empty: expected a function of the step");
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

nlohmann::json MultiplicativeLR::state() const {
  return {{"step", cached_step_}, {"product", cached_product_}};
}

void MultiplicativeLR::load_state(const nlohmann::json& state) {
  DESCENT_CHECK(state.is_object() && state.contains("step") && state["step"].is_number_integer() &&
                    state["step"].get<std::int64_t>() >= 0 && state.contains("product") &&
                    state["product"].is_number(),
                name(), ": load_state got ", state.dump(),
                ": expected {\"step\": integer >= 0, \"product\": number}");
  cached_step_ = state["step"].get<std::int64_t>();
  cached_product_ = state["product"].get<double>();
}

}  // namespace descent::schedule
