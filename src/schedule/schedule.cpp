#include "descent/schedule/schedule.hpp"

#include "descent/core/error.hpp"

namespace descent::schedule {

double Schedule::value(std::int64_t step, double base) const {
  DESCENT_CHECK(step >= 0, name(), ": step ", step, " is invalid: expected a step >= 0");
  return compute(step, base);
}

std::optional<double> Schedule::momentum(std::int64_t step) const {
  DESCENT_CHECK(step >= 0, name(), ": step ", step, " is invalid: expected a step >= 0");
  return compute_momentum(step);
}

std::optional<double> Schedule::compute_momentum(std::int64_t) const { return std::nullopt; }

void Schedule::observe(std::int64_t, double) {}

double Schedule::chained(std::int64_t step, double, double base) const { return value(step, base); }

nlohmann::json Schedule::state() const { return nullptr; }

void Schedule::load_state(const nlohmann::json& state) {
  DESCENT_CHECK(state.is_null(), name(), ": load_state got ", state.dump(),
                ": expected null (this schedule is a pure function of the step and keeps no state)");
}

}  // namespace descent::schedule
