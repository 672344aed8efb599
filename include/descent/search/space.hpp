#pragma once
// A hyperparameter search space: named parameters, each a float, an int or a categorical choice,
// some of them active only under a value of another parameter.
//
// Spec JSON (the `[tune.space]` TOML table read as JSON; one object per parameter, keyed by the
// dotted config path it sets):
//   {
//     "optimizer.name":            {"type": "categorical", "choices": ["sgd", "adam"]},
//     "optimizer.options.lr":      {"type": "float", "low": 1e-4, "high": 1e-1, "log": true},
//     "optimizer.options.momentum":{"type": "float", "low": 0.0, "high": 0.99,
//                                   "condition": {"param": "optimizer.name", "values": ["sgd"]}},
//     "train.batch_size":          {"type": "int", "low": 16, "high": 256, "log": true},
//     "model.width":               {"type": "int", "low": 32, "high": 512, "step": 32},
//     "train.dropout":             {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1}
//   }
// Keys per type (any other key is an error):
//   float:       low, high (numbers, low <= high), log (bool, default false; needs low > 0),
//                step (number > 0, not with log; high - low must be a whole number of steps),
//                condition
//   int:         low, high (integers, low <= high), step (integer >= 1, default 1; high - low must be
//                a whole number of steps), log (bool, default false; needs low >= 1 and step 1),
//                condition
//   categorical: choices (non-empty array of distinct JSON scalars: strings, numbers, booleans),
//                condition
//   condition:   {"param": <another parameter>, "values": [<values of it>]} — the parameter is active
//                only when that parameter is active and takes one of the values. Cycles are errors.
// Errors are descent::Error naming the parameter, the key, the bad value and the expected form.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace descent::search {

enum class ParamType { real, integer, categorical };

struct Condition {
  std::string param;
  std::vector<nlohmann::json> values;
};

// One parameter and its transform to the sampler's coordinates.
//
// "Internal" coordinates are where distances mean something: log(x) for log parameters, x otherwise,
// the choice index for categoricals. Discrete numeric parameters (int, float with step) own a cell of
// width `step` around each value (in log space for log ints, the cell of value v is
// [log(v - 0.5), log(v + 0.5)]), so a uniform draw over [internal_low, internal_high] rounded to the
// nearest value gives every value its fair share. "Unit" coordinates rescale internal to [0, 1].
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::real;
  double low = 0.0;
  double high = 0.0;
  bool log = false;
  std::optional<double> step;              // floats: optional; ints: always set (default 1)
  std::vector<nlohmann::json> choices;     // categoricals only
  std::optional<Condition> condition;

  bool is_discrete() const { return type != ParamType::real || step.has_value(); }
  // Number of distinct values when finite (int, stepped float, categorical); nullopt for a
  // continuous float.
  std::optional<std::size_t> cardinality() const;

  double internal_low() const;
  double internal_high() const;
  // The internal coordinate of a valid value: the value itself, its log for log parameters, the index
  // of a choice. It lies inside the value's cell, so from_internal(to_internal(v)) == v.
  double to_internal(const nlohmann::json& value) const;
  // The valid value nearest to an internal coordinate (clamped into range, snapped to the grid).
  nlohmann::json from_internal(double internal) const;

  double to_unit(const nlohmann::json& value) const;
  nlohmann::json from_unit(double unit) const;

  // Whether `value` is a valid value of this parameter (type, range, step, choice).
  bool accepts(const nlohmann::json& value) const;
  // Every value when the parameter is discrete; otherwise `points` values evenly spaced in internal
  // coordinates from low to high inclusive (log-spaced for log floats). points >= 1.
  std::vector<nlohmann::json> grid_values(std::size_t points) const;

  nlohmann::json to_json() const;
};

class SearchSpace {
 public:
  static SearchSpace from_json(const nlohmann::json& spec);
  nlohmann::json to_json() const;

  // Parameters ordered so every condition's parent comes before its children (otherwise by name).
  const std::vector<ParamSpec>& params() const { return params_; }
  std::vector<std::string> names() const;
  std::size_t size() const { return params_.size(); }
  bool contains(const std::string& name) const;
  // The parameter called `name`; descent::Error listing the names when there is none.
  const ParamSpec& at(const std::string& name) const;

  // Whether `name` is active given (possibly partial) params: its parent is active, present in
  // `params` and takes one of the condition's values. Unconditional parameters are always active.
  bool is_active(const std::string& name, const nlohmann::json& params) const;
  // Throws descent::Error unless `params` holds a valid value for exactly the active parameters.
  void validate(const nlohmann::json& params) const;

 private:
  std::vector<ParamSpec> params_;
};

}  // namespace descent::search
