#include "descent/transform/accumulation.hpp"
#include "descent/core/json_integer.hpp"

#include "descent/core/error.hpp"

namespace descent::transform {

GradientAccumulator::GradientAccumulator(std::int64_t steps) : steps_(steps) {
  DESCENT_CHECK(steps >= 1, "GradientAccumulator: steps = ", steps, "; expected an integer >= 1");
}

bool GradientAccumulator::micro_batch_done() {
  if (++pending_ < steps_) return false;
  pending_ = 0;
  return true;
}

double GradientAccumulator::partial_group_correction() const {
  DESCENT_CHECK(pending_ > 0, "GradientAccumulator::partial_group_correction: no micro-batch pending; "
                              "expected at least one since the last step");
  return double(steps_) / double(pending_);
}

bool GradientAccumulator::flush() {
  const bool had = pending_ > 0;
  pending_ = 0;
  return had;
}

nlohmann::json GradientAccumulator::state_dict() const { return {{"steps", steps_}, {"pending", pending_}}; }

void GradientAccumulator::load_state_dict(const nlohmann::json& state) {
  std::int64_t steps = 0, pending = 0;
  try {
    steps = json_integer(state.at("steps"), "steps");
    pending = json_integer(state.at("pending"), "pending");
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("GradientAccumulator::load_state_dict: ", e.what(),
                               "; expected integers under steps and pending"));
  }
  DESCENT_CHECK(steps == steps_, "GradientAccumulator::load_state_dict: saved steps = ", steps,
                "; expected this accumulator's ", steps_);
  DESCENT_CHECK(pending >= 0 && pending < steps_, "GradientAccumulator::load_state_dict: pending = ", pending,
                "; expected an integer in [0, ", steps_, ")");
  pending_ = pending;
}

}  // namespace descent::transform
