#include "descent/search/grid.hpp"

#include <algorithm>

#include "descent/core/error.hpp"

namespace descent::search {

namespace {

void expand(const SearchSpace& space, const std::vector<std::vector<nlohmann::json>>& values, std::size_t index,
            nlohmann::json& partial, std::vector<nlohmann::json>& out, std::size_t limit) {
  if (index == space.size()) {
    DESCENT_CHECK(out.size() < limit, "grid sampler: the grid has more than ", limit,
                  " configurations, expected fewer (lower grid_points or use another sampler)");
    out.push_back(partial);
    return;
  }
  const ParamSpec& p = space.params()[index];
  if (!space.is_active(p.name, partial)) {
    expand(space, values, index + 1, partial, out, limit);
    return;
  }
  for (const nlohmann::json& value : values[index]) {
    partial[p.name] = value;
    expand(space, values, index + 1, partial, out, limit);
  }
  partial.erase(p.name);
}

bool in_history(const nlohmann::json& config, const std::vector<TrialRecord>& history) {
  return std::any_of(history.begin(), history.end(), [&](const TrialRecord& t) { return t.params == config; });
}

}  // namespace

std::vector<nlohmann::json> grid_configurations(const SearchSpace& space, std::size_t grid_points,
                                                std::size_t limit) {
  std::vector<std::vector<nlohmann::json>> values;
  for (const ParamSpec& p : space.params()) values.push_back(p.grid_values(grid_points));
  std::vector<nlohmann::json> out;
  nlohmann::json partial = nlohmann::json::object();
  expand(space, values, 0, partial, out, limit);
  return out;
}

nlohmann::json GridSampler::sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                                   std::int64_t) {
  const auto configs = grid_configurations(space, grid_points_);
  for (const auto& config : configs) {
    if (!in_history(config, history)) return config;
  }
  throw Error("grid sampler: all " + std::to_string(configs.size()) +
              " configurations are in the history, expected has_next() to be checked first");
}

bool GridSampler::has_next(const SearchSpace& space, const std::vector<TrialRecord>& history) const {
  const auto configs = grid_configurations(space, grid_points_);
  return std::any_of(configs.begin(), configs.end(), [&](const auto& c) { return !in_history(c, history); });
}

}  // namespace descent::search
