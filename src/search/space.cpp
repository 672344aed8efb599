#include "descent/search/space.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "descent/core/error.hpp"

namespace descent::search {

namespace {

using nlohmann::json;

std::string where(const std::string& name, const std::string& key) {
  return "search space: parameter \"" + name + "\", key \"" + key + "\"";
}

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

double read_number(const json& entry, const std::string& name, const std::string& key) {
  DESCENT_CHECK(entry.contains(key), where(name, key), ": missing, expected a number");
  const json& value = entry.at(key);
  DESCENT_CHECK(value.is_number() && std::isfinite(value.get<double>()), where(name, key), ": got ",
                value.dump(), ", expected a finite number");
  return value.get<double>();
}

std::int64_t read_integer(const json& entry, const std::string& name, const std::string& key) {
  DESCENT_CHECK(entry.contains(key), where(name, key), ": missing, expected an integer");
  const json& value = entry.at(key);
  DESCENT_CHECK(is_integral(value), where(name, key), ": got ", value.dump(), ", expected an integer");
  return static_cast<std::int64_t>(value.get<double>());
}

bool read_bool(const json& entry, const std::string& name, const std::string& key) {
  if (!entry.contains(key)) return false;
  const json& value = entry.at(key);
  DESCENT_CHECK(value.is_boolean(), where(name, key), ": got ", value.dump(), ", expected true or false");
  return value.get<bool>();
}

void check_keys(const json& entry, const std::string& name, const std::string& type,
                const std::set<std::string>& allowed) {
  for (const auto& [key, value] : entry.items()) {
    if (allowed.count(key)) continue;
    std::string list;
    for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
    throw Error(where(name, key) + ": not a key of a " + type + " parameter, expected one of " + list);
  }
}

ParamSpec parse_real(const json& entry, const std::string& name) {
  check_keys(entry, name, "float", {"type", "low", "high", "log", "step", "condition"});
  ParamSpec p;
  p.name = name;
  p.type = ParamType::real;
  p.low = read_number(entry, name, "low");
  p.high = read_number(entry, name, "high");
  DESCENT_CHECK(p.low <= p.high, where(name, "high"), ": got ", p.high, ", expected a number >= low (", p.low, ")");
  p.log = read_bool(entry, name, "log");
  if (p.log) {
    DESCENT_CHECK(p.low > 0.0, where(name, "low"), ": got ", p.low, ", expected a number > 0 for a log parameter");
  }
  if (entry.contains("step")) {
    DESCENT_CHECK(!p.log, where(name, "step"), ": a log parameter cannot have a step, expected one of them");
    const double step = read_number(entry, name, "step");
    DESCENT_CHECK(step > 0.0, where(name, "step"), ": got ", step, ", expected a number > 0");
    DESCENT_CHECK(whole_steps(p.high - p.low, step), where(name, "step"), ": got ", step,
                  ", expected a step that divides high - low (", p.high - p.low, ")");
    p.step = step;
  }
  return p;
}

ParamSpec parse_integer(const json& entry, const std::string& name) {
  check_keys(entry, name, "int", {"type", "low", "high", "log", "step", "condition"});
  ParamSpec p;
  p.name = name;
  p.type = ParamType::integer;
  p.low = double(read_integer(entry, name, "low"));
  p.high = double(read_integer(entry, name, "high"));
  DESCENT_CHECK(p.low <= p.high, where(name, "high"), ": got ", p.high, ", expected an integer >= low (", p.low, ")");
  p.log = read_bool(entry, name, "log");
  std::int64_t step = 1;
  if (entry.contains("step")) {
    step = read_integer(entry, name, "step");
    DESCENT_CHECK(step >= 1, where(name, "step"), ": got ", step, ", expected an integer >= 1");
    DESCENT_CHECK(std::int64_t(p.high - p.low) % step == 0, where(name, "step"), ": got ", step,
                  ", expected a step that divides high - low (", std::int64_t(p.high - p.low), ")");
  }
  if (p.log) {
    DESCENT_CHECK(p.low >= 1.0, where(name, "low"), ": got ", p.low, ", expected an integer >= 1 for a log parameter");
    DESCENT_CHECK(step == 1, where(name, "step"), ": got ", step, ", expected 1 (or none) for a log parameter");
  }
  p.step = double(step);
  return p;
}

ParamSpec parse_categorical(const json& entry, const std::string& name) {
  check_keys(entry, name, "categorical", {"type", "choices", "condition"});
  ParamSpec p;
  p.name = name;
  p.type = ParamType::categorical;
  DESCENT_CHECK(entry.contains("choices"), where(name, "choices"), ": missing, expected a non-empty array");
  const json& choices = entry.at("choices");
  DESCENT_CHECK(choices.is_array() && !choices.empty(), where(name, "choices"), ": got ", choices.dump(),
                ", expected a non-empty array of strings, numbers or booleans");
  for (const json& choice : choices) {
    DESCENT_CHECK(is_scalar(choice), where(name, "choices"), ": got element ", choice.dump(),
                  ", expected a string, number or boolean");
    DESCENT_CHECK(std::find(p.choices.begin(), p.choices.end(), choice) == p.choices.end(),
                  where(name, "choices"), ": ", choice.dump(), " appears twice, expected distinct choices");
    p.choices.push_back(choice);
  }
  p.low = 0.0;
  p.high = double(p.choices.size() - 1);
  return p;
}

std::optional<Condition> parse_condition(const json& entry, const std::string& name) {
  if (!entry.contains("condition")) return std::nullopt;
  const json& c = entry.at("condition");
  const std::string expected = ", expected {\"param\": <parameter name>, \"values\": [<its values>]}";
  DESCENT_CHECK(c.is_object() && c.contains("param") && c.at("param").is_string() && c.contains("values") &&
                    c.at("values").is_array() && !c.at("values").empty() && c.size() == 2,
                where(name, "condition"), ": got ", c.dump(), expected);
  Condition condition;
  condition.param = c.at("param").get<std::string>();
  DESCENT_CHECK(condition.param != name, where(name, "condition"), ": a parameter cannot depend on itself");
  for (const json& value : c.at("values")) condition.values.push_back(value);
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
    DESCENT_CHECK(entry.is_object(), "search space: parameter \"", name, "\": got ", entry.dump(),
                  ", expected an object with a \"type\"");
    DESCENT_CHECK(entry.contains("type") && entry.at("type").is_string(), where(name, "type"), ": got ",
                  entry.contains("type") ? entry.at("type").dump() : "nothing",
                  ", expected \"float\", \"int\" or \"categorical\"");
    const std::string type = entry.at("type").get<std::string>();
    ParamSpec p;
    if (type == "float") {
      p = parse_real(entry, name);
    } else if (type == "int") {
      p = parse_integer(entry, name);
    } else if (type == "categorical") {
      p = parse_categorical(entry, name);
    } else {
      throw Error(where(name, "type") + ": got \"" + type + "\", expected \"float\", \"int\" or \"categorical\"");
    }
    p.condition = parse_condition(entry, name);
    parsed.emplace(name, std::move(p));
  }
  for (const auto& [name, p] : parsed) {
    if (!p.condition) continue;
    const auto parent = parsed.find(p.condition->param);
    DESCENT_CHECK(parent != parsed.end(), where(name, "condition"), ": param \"", p.condition->param,
                  "\" is not a parameter of the space, expected one of its parameters");
    for (const json& value : p.condition->values) {
      DESCENT_CHECK(parent->second.accepts(value), where(name, "condition"), ": value ", value.dump(),
                    " is not a valid value of \"", p.condition->param, "\", expected one of its values");
    }
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
