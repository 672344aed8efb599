#include "descent/schedule/binding.hpp"

#include "descent/core/error.hpp"

namespace descent::schedule {

void ScheduleBinding::validate() const {
  DESCENT_CHECK(schedule != nullptr, "schedule binding for '", hyperparameter, "': schedule is null");
  DESCENT_CHECK(!hyperparameter.empty(), "schedule binding of ", schedule->name(),
                ": hyperparameter name is empty: expected e.g. \"lr\", \"momentum\", \"weight_decay\"");
  DESCENT_CHECK(groups.size() == base_values.size(), "schedule binding of ", schedule->name(), " to '",
                hyperparameter, "': ", groups.size(), " groups but ", base_values.size(),
                " base values: expected one base value per group");
}

std::vector<HyperparameterValue> ScheduleBinding::values_at(std::int64_t step) const {
  validate();
  std::vector<HyperparameterValue> values;
  values.reserve(groups.size() * 2);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    values.push_back({groups[i], hyperparameter, schedule->value(step, base_values[i])});
  }
  if (const auto momentum = schedule->momentum(step)) {
    for (const auto group : groups) values.push_back({group, cycled_momentum_name, *momentum});
  }
  return values;
}

void ScheduleBinding::observe(std::int64_t step, double metric) const {
  validate();
  schedule->observe(step, metric);
}

nlohmann::json ScheduleBinding::state() const {
  validate();
  return {{"hyperparameter", hyperparameter},
          {"groups", groups},
          {"base_values", base_values},
          {"schedule", schedule->state()}};
}

void ScheduleBinding::load_state(const nlohmann::json& state) {
  validate();
  DESCENT_CHECK(state.is_object() && state.contains("hyperparameter") && state.contains("groups") &&
                    state.contains("base_values") && state.contains("schedule"),
                "schedule binding: load_state got ", state.dump(),
                ": expected {\"hyperparameter\", \"groups\", \"base_values\", \"schedule\"}");
  DESCENT_CHECK(state["hyperparameter"] == hyperparameter && state["groups"] == nlohmann::json(groups),
                "schedule binding: saved state drives '", state["hyperparameter"].dump(), "' of groups ",
                state["groups"].dump(), ": expected '", hyperparameter, "' of groups ", nlohmann::json(groups).dump());
  const auto& bases = state["base_values"];
  DESCENT_CHECK(bases.is_array() && bases.size() == groups.size(), "schedule binding: saved base_values ",
                bases.dump(), ": expected ", groups.size(), " numbers");
  std::vector<double> restored;
  for (const auto& base : bases) {
    DESCENT_CHECK(base.is_number(), "schedule binding: saved base value ", base.dump(), ": expected a number");
    restored.push_back(base.get<double>());
  }
  schedule->load_state(state["schedule"]);
  base_values = std::move(restored);
}

}  // namespace descent::schedule
