#include "descent/search/space.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "descent/core/error.hpp"
#include "descent/core/options.hpp"

namespace descent::search {

namespace {

using nlohmann::json;

bool is_scalar(const json& value) { return value.is_string() || value.is_number() || value.is_boolean(); }

bool is_integral(const json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  const double x = value.get<double>();
  return std::isfinite(x) && x == std::round(x) && std::abs(x) < 9.0e15;
}

// A whole number of steps up to rounding in the last digits (0.1-steps are not exact in binary).
bool whole_steps(double span, double step) {
  const double steps = span / step;
  return std::abs(steps - std::round(steps)) <= 1e-9 * std::max(1.0, std::abs(steps));
}

// A stepped value low + k * step as the shortest decimal it stands for: 0.1 + 2 * 0.1 is
// 0.30000000000000004 in binary, which would show up in study files and best.toml; 15 significant digits
// recover 0.3 and leave every value that is exact in binary unchanged.
double on_step(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", value);
  return std::strtod(text, nullptr);
}

std::string number_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// The bounds of a float or int parameter: both required, finite, low <= high.
std::pair<double, double> read_bounds(OptionTable& t, bool integral) {
  const std::string noun = integral ? "an integer" : "a finite number";
  const double low = integral ? double(t.required_integer("low")) : t.required_number("low");
  const double high = integral ? double(t.required_integer("high")) : t.required_number("high");
  if (t.has("low") && !std::isfinite(low)) t.fail("low", noun);
  if (t.has("high") && !std::isfinite(high)) t.fail("high", noun);
  return {low, high};
}

ParamSpec parse_real(const json& entry, const std::string& name) {
  OptionTable t(entry, "search space", name);
  t.accept("type");
  t.accept("condition");
  ParamSpec p;
  p.name = name;
  p.type = ParamType::real;
  std::tie(p.low, p.high) = read_bounds(t, false);
  p.log = t.flag("log", false);
  const auto step = t.number("step");
  t.finish();
  if (p.low > p.high) t.fail("high", "a number >= low (" + number_text(p.low) + ")");
  if (p.log && p.low <= 0.0) t.fail("low", "a number > 0 for a log parameter");
  if (step) {
    if (p.log) t.fail("step", "no step for a log parameter");
    if (!(*step > 0.0) || !std::isfinite(*step)) t.fail("step", "a number > 0");
    if (!whole_steps(p.high - p.low, *step))
      t.fail("step", "a step that divides high - low (" + number_text(p.high - p.low) + ")");
    p.step = *step;
  }
  return p;
}

ParamSpec parse_integer(const json& entry, const std::string& name) {
  OptionTable t(entry, "search space", name);
  t.accept("type");
  t.accept("condition");
  ParamSpec p;
  p.name = name;
  p.type = ParamType::integer;
  std::tie(p.low, p.high) = read_bounds(t, true);
  p.log = t.flag("log", false);
  const std::int64_t step = t.integer("step", 1, 1);
  t.finish();
  if (p.low > p.high) t.fail("high", "an integer >= low (" + number_text(p.low) + ")");
  if (std::int64_t(p.high - p.low) % step != 0)
    t.fail("step", "a step that divides high - low (" + std::to_string(std::int64_t(p.high - p.low)) + ")");
  if (p.log && p.low < 1.0) t.fail("low", "an integer >= 1 for a log parameter");
  if (p.log && step != 1) t.fail("step", "1 (or none) for a log parameter");
  p.step = double(step);
  return p;
}

ParamSpec parse_categorical(const json& entry, const std::string& name) {
  OptionTable t(entry, "search space", name);
  t.accept("type");
  t.accept("condition");
  const json choices = t.any("choices");
  t.finish();
  ParamSpec p;
  p.name = name;
  p.type = ParamType::categorical;
  const std::string form = "a non-empty array of distinct strings, numbers or booleans";
  if (!choices.is_array() || choices.empty()) t.fail("choices", form);
  for (const json& choice : choices) {
    if (!is_scalar(choice)) t.fail("choices", form + " (" + clip_for_message(choice.dump()) + " is none of them)");
    if (std::find(p.choices.begin(), p.choices.end(), choice) != p.choices.end())
      t.fail("choices", form + " (" + clip_for_message(choice.dump()) + " appears twice)");
    p.choices.push_back(choice);
  }
  p.low = 0.0;
  p.high = double(p.choices.size() - 1);
  return p;
}

std::optional<Condition> parse_condition(const json& entry, const std::string& name) {
  if (!entry.contains("condition")) return std::nullopt;
  const std::string form = "a table {param = <parameter name>, values = [<its values>]}";
  if (!entry.at("condition").is_object()) OptionTable(entry, "search space", name).fail("condition", form);
  OptionTable c(entry.at("condition"), "search space", name + ".condition");
  Condition condition;
  condition.param = c.text("param", "");
  const json values = c.any("values");
  c.finish();
  if (condition.param.empty()) c.fail("param", "the name of another parameter");
  if (condition.param == name) c.fail("param", "another parameter (a parameter cannot depend on itself)");
  if (!values.is_array() || values.empty()) c.fail("values", "a non-empty array of the parameter's values");
  for (const json& value : values) condition.values.push_back(value);
  return condition;
}

// Parents before children, ties by name; a cycle is an error naming the parameters in it.
std::vector<ParamSpec> order_by_dependency(std::map<std::string, ParamSpec> remaining) {
  std::vector<ParamSpec> ordered;
  std::set<std::string> placed;
  while (!remaining.empty()) {
    bool progressed = false;
    for (auto it = remaining.begin(); it != remaining.end();) {
      const auto& condition = it->second.condition;
      if (!condition || placed.count(condition->param)) {
        placed.insert(it->first);
        ordered.push_back(std::move(it->second));
        it = remaining.erase(it);
        progressed = true;
      } else {
        ++it;
      }
    }
    if (!progressed) {
      std::string names;
      for (const auto& [name, p] : remaining) names += (names.empty() ? "" : ", ") + name;
      throw Error("search space: the conditions of " + names +
                  " form a cycle, expected each condition to lead to an unconditional parameter");
    }
  }
  return ordered;
}

}  // namespace

std::optional<std::size_t> ParamSpec::cardinality() const {
  if (type == ParamType::categorical) return choices.size();
  if (!step) return std::nullopt;
  return std::size_t(std::llround((high - low) / *step)) + 1;
}

double ParamSpec::internal_low() const {
  if (type == ParamType::categorical) return -0.5;
  if (log) return type == ParamType::integer ? std::log(low - 0.5) : std::log(low);
  return step ? low - *step / 2 : low;
}

double ParamSpec::internal_high() const {
  if (type == ParamType::categorical) return double(choices.size()) - 0.5;
  if (log) return type == ParamType::integer ? std::log(high + 0.5) : std::log(high);
  return step ? high + *step / 2 : high;
}

double ParamSpec::to_internal(const json& value) const {
  if (type == ParamType::categorical) {
    const auto it = std::find(choices.begin(), choices.end(), value);
    DESCENT_CHECK(it != choices.end(), "search space: parameter \"", name, "\": got ", value.dump(),
                  ", expected one of ", json(choices).dump());
    return double(it - choices.begin());
  }
  DESCENT_CHECK(value.is_number(), "search space: parameter \"", name, "\": got ", value.dump(), ", expected a number");
  const double x = value.get<double>();
  return log ? std::log(x) : x;
}

json ParamSpec::from_internal(double internal) const {
  if (type == ParamType::categorical) {
    const double index = std::clamp(std::round(internal), 0.0, double(choices.size() - 1));
    return choices[std::size_t(index)];
  }
  if (type == ParamType::integer) {
    double value = log ? std::round(std::exp(internal)) : low + std::round((internal - low) / *step) * *step;
    value = std::clamp(value, low, high);
    return std::int64_t(value);
  }
  if (step) {
    const double steps = std::clamp(std::round((internal - low) / *step), 0.0, std::round((high - low) / *step));
    return std::min(high, on_step(low + steps * *step));
  }
  return std::clamp(log ? std::exp(internal) : internal, low, high);
}

double ParamSpec::to_unit(const json& value) const {
  const double span = internal_high() - internal_low();
  if (span <= 0.0) return 0.5;
  return std::clamp((to_internal(value) - internal_low()) / span, 0.0, 1.0);
}

json ParamSpec::from_unit(double unit) const {
  return from_internal(internal_low() + std::clamp(unit, 0.0, 1.0) * (internal_high() - internal_low()));
}

bool ParamSpec::accepts(const json& value) const {
  if (type == ParamType::categorical) return std::find(choices.begin(), choices.end(), value) != choices.end();
  if (!value.is_number() || value.is_boolean()) return false;
  const double x = value.get<double>();
  const double tolerance = 1e-12 * std::max({1.0, std::abs(low), std::abs(high)});
  if (!std::isfinite(x) || x < low - tolerance || x > high + tolerance) return false;
  if (type == ParamType::integer && !is_integral(value)) return false;
  if (step) return whole_steps(x - low, *step);
  return true;
}

std::vector<json> ParamSpec::grid_values(std::size_t points) const {
  DESCENT_CHECK(points >= 1, "search space: grid_points: got ", points, ", expected an integer >= 1");
  std::vector<json> values;
  const auto count = cardinality();
  if (count && (type == ParamType::categorical || *count <= points)) {
    for (std::size_t i = 0; i < *count; ++i) {
      if (type == ParamType::categorical) {
        values.push_back(choices[i]);
      } else if (type == ParamType::integer) {
        values.push_back(std::int64_t(low) + std::int64_t(i) * std::int64_t(*step));
      } else {
        values.push_back(std::min(high, on_step(low + double(i) * *step)));
      }
    }
    return values;
  }
  // Evenly spaced between the end values themselves (not the cell edges), so low and high are on it.
  const double first = log ? std::log(low) : low;
  const double last = log ? std::log(high) : high;
  for (std::size_t i = 0; i < points; ++i) {
    const double t = points == 1 ? 0.5 : double(i) / double(points - 1);
    // The ends exactly: exp(log(low)) can miss low by an ulp.
    json value = from_internal(first + t * (last - first));
    if (type == ParamType::real && points > 1 && i == 0) value = low;
    if (type == ParamType::real && points > 1 && i + 1 == points) value = high;
    if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(std::move(value));
  }
  return values;
}

json ParamSpec::to_json() const {
  json out;
  if (type == ParamType::categorical) {
    out["type"] = "categorical";
    out["choices"] = choices;
  } else if (type == ParamType::integer) {
    out["type"] = "int";
    out["low"] = std::int64_t(low);
    out["high"] = std::int64_t(high);
    out["step"] = std::int64_t(*step);
    out["log"] = log;
  } else {
    out["type"] = "float";
    out["low"] = low;
    out["high"] = high;
    out["log"] = log;
    if (step) out["step"] = *step;
  }
  if (condition) out["condition"] = {{"param", condition->param}, {"values", condition->values}};
  return out;
}

SearchSpace SearchSpace::from_json(const json& spec) {
  DESCENT_CHECK(spec.is_object() && !spec.empty(), "search space: got ", spec.dump(),
                ", expected an object of parameters, e.g. {\"lr\": {\"type\": \"float\", \"low\": 1e-4, "
                "\"high\": 0.1, \"log\": true}}");
  std::map<std::string, ParamSpec> parsed;
  for (const auto& [name, entry] : spec.items()) {
    DESCENT_CHECK(entry.is_object(), "search space: ", name, " = ", clip_for_message(entry.dump()),
                  ": expected a table with a type");
    const std::string type = OptionTable(entry, "search space", name).choice("type", "", {"float", "int", "categorical"});
    ParamSpec p;
    if (type == "float") {
      p = parse_real(entry, name);
    } else if (type == "int") {
      p = parse_integer(entry, name);
    } else {
      p = parse_categorical(entry, name);
    }
    p.condition = parse_condition(entry, name);
    parsed.emplace(name, std::move(p));
  }
  for (const auto& [name, p] : parsed) {
    if (!p.condition) continue;
    const auto parent = parsed.find(p.condition->param);
    OptionTable c(spec.at(name).at("condition"), "search space", name + ".condition");
    if (parent == parsed.end()) c.fail("param", "one of the space's parameters");
    for (const json& value : p.condition->values)
      if (!parent->second.accepts(value))
        c.fail("values", "values of " + p.condition->param + " (" + clip_for_message(value.dump()) + " is not one)");
  }
  SearchSpace space;
  space.params_ = order_by_dependency(std::move(parsed));
  return space;
}

json SearchSpace::to_json() const {
  json out = json::object();
  for (const auto& p : params_) out[p.name] = p.to_json();
  return out;
}

std::vector<std::string> SearchSpace::names() const {
  std::vector<std::string> out;
  for (const auto& p : params_) out.push_back(p.name);
  return out;
}

bool SearchSpace::contains(const std::string& name) const {
  return std::any_of(params_.begin(), params_.end(), [&](const ParamSpec& p) { return p.name == name; });
}

const ParamSpec& SearchSpace::at(const std::string& name) const {
  for (const auto& p : params_) {
    if (p.name == name) return p;
  }
  std::string list;
  for (const auto& p : params_) list += (list.empty() ? "" : ", ") + p.name;
  throw Error("search space: no parameter \"" + name + "\", expected one of " + list);
}

bool SearchSpace::is_active(const std::string& name, const json& params) const {
  const ParamSpec& p = at(name);
  if (!p.condition) return true;
  const std::string& parent = p.condition->param;
  if (!is_active(parent, params) || !params.is_object() || !params.contains(parent)) return false;
  const json& value = params.at(parent);
  return std::find(p.condition->values.begin(), p.condition->values.end(), value) != p.condition->values.end();
}

void SearchSpace::validate(const json& params) const {
  DESCENT_CHECK(params.is_object(), "trial params: got ", params.dump(), ", expected an object of name -> value");
  for (const auto& [name, value] : params.items()) {
    DESCENT_CHECK(contains(name), "trial params: \"", name, "\" is not a parameter of the search space");
  }
  for (const auto& p : params_) {
    const bool active = is_active(p.name, params);
    const bool present = params.contains(p.name);
    DESCENT_CHECK(active || !present, "trial params: \"", p.name, "\" = ", present ? params.at(p.name).dump() : "",
                  " is inactive (its condition on \"", p.condition ? p.condition->param : "", "\" does not hold), expected it absent");
    if (!active) continue;
    DESCENT_CHECK(present, "trial params: \"", p.name, "\" is missing, expected a value of ", p.to_json().dump());
    DESCENT_CHECK(p.accepts(params.at(p.name)), "trial params: \"", p.name, "\" = ", params.at(p.name).dump(),
                  " is not valid, expected a value of ", p.to_json().dump());
  }
}

}  // namespace descent::search
