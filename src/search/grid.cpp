#include "descent/search/grid.hpp"

#include <algorithm>
#include <unordered_set>

#include "descent/core/error.hpp"

namespace descent::search {

namespace {

using Values = std::vector<std::vector<nlohmann::json>>;

// Whether a later parameter's condition refers to parameter `index`: only those need branching when
// counting; the others multiply.
std::vector<bool> has_dependents(const SearchSpace& space) {
  std::vector<bool> out(space.size(), false);
  for (std::size_t i = 0; i < space.size(); ++i) {
    for (const ParamSpec& p : space.params()) {
      if (p.condition && p.condition->param == space.params()[i].name) out[i] = true;
    }
  }
  return out;
}

// The number of configurations below `index` given `partial`, saturating at limit + 1.
std::size_t count(const SearchSpace& space, const Values& values, const std::vector<bool>& dependents,
                  std::size_t index, nlohmann::json& partial, std::size_t limit) {
  if (index == space.size()) return 1;
  const ParamSpec& p = space.params()[index];
  if (!space.is_active(p.name, partial)) return count(space, values, dependents, index + 1, partial, limit);
  if (!dependents[index]) {
    const std::size_t rest = count(space, values, dependents, index + 1, partial, limit);
    return rest > (limit + 1) / values[index].size() ? limit + 1 : std::min(limit + 1, rest * values[index].size());
  }
  std::size_t total = 0;
  for (const nlohmann::json& value : values[index]) {
    partial[p.name] = value;
    total += count(space, values, dependents, index + 1, partial, limit);
    if (total > limit) break;
  }
  partial.erase(p.name);
  return std::min(total, limit + 1);
}

void expand(const SearchSpace& space, const Values& values, std::size_t index, nlohmann::json& partial,
            std::vector<nlohmann::json>& out) {
  if (index == space.size()) {
    out.push_back(partial);
    return;
  }
  const ParamSpec& p = space.params()[index];
  if (!space.is_active(p.name, partial)) {
    expand(space, values, index + 1, partial, out);
    return;
  }
  for (const nlohmann::json& value : values[index]) {
    partial[p.name] = value;
    expand(space, values, index + 1, partial, out);
  }
  partial.erase(p.name);
}

// A configuration as text that is equal for equal values, whatever number type storage gave back
// (3 and 3.0 for an int parameter; the double for a float one).
std::string canonical(const SearchSpace& space, const nlohmann::json& params) {
  if (!params.is_object()) return params.dump();
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : params.items()) {
    if (!space.contains(name) || !value.is_number()) {
      out[name] = value;
    } else if (space.at(name).type == ParamType::integer && value.get<double>() == double(value.get<std::int64_t>())) {
      out[name] = value.get<std::int64_t>();
    } else if (space.at(name).type == ParamType::real) {
      out[name] = value.get<double>();
    } else {
      out[name] = value;
    }
  }
  return out.dump();
}

std::unordered_set<std::string> tried(const SearchSpace& space, const std::vector<TrialRecord>& history) {
  std::unordered_set<std::string> out;
  for (const TrialRecord& t : history) out.insert(canonical(space, t.params));
  return out;
}

}  // namespace

std::vector<nlohmann::json> grid_configurations(const SearchSpace& space, std::size_t grid_points,
                                                std::size_t limit) {
  Values values;
  for (const ParamSpec& p : space.params()) values.push_back(p.grid_values(grid_points));
  nlohmann::json partial = nlohmann::json::object();
  const std::size_t total = count(space, values, has_dependents(space), 0, partial, limit);
  DESCENT_CHECK(total <= limit, "grid sampler: the grid has more than ", limit,
                " configurations, expected at most that many (lower grid_points or use another sampler)");
  std::vector<nlohmann::json> out;
  out.reserve(total);
  expand(space, values, 0, partial, out);
  return out;
}

nlohmann::json GridSampler::sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                                   std::int64_t) {
  const auto configs = grid_configurations(space, grid_points_);
  const auto seen = tried(space, history);
  for (const auto& config : configs) {
    if (!seen.count(canonical(space, config))) return config;
  }
  throw Error("grid sampler: all " + std::to_string(configs.size()) +
              " configurations are in the history, expected has_next() to be checked first");
}

bool GridSampler::has_next(const SearchSpace& space, const std::vector<TrialRecord>& history) const {
  const auto configs = grid_configurations(space, grid_points_);
  const auto seen = tried(space, history);
  return std::any_of(configs.begin(), configs.end(), [&](const auto& c) { return !seen.count(canonical(space, c)); });
}

}  // namespace descent::search
