#include "descent/vectors/optim.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "descent/core/error.hpp"
#include "descent/optim/optimizer.hpp"

namespace descent::vectors {

namespace {

// A number, or "nan", "inf", "-inf" (JSON has no literal for them).
double number_from(const nlohmann::json& value, const char* what) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const auto text = value.get<std::string>();
    if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
  }
  throw Error(detail::concat("optim case: ", what, " holds ", value.dump(),
                             "; expected a number or \"nan\", \"inf\", \"-inf\""));
}

std::vector<double> numbers_from(const nlohmann::json& values, const Shape& shape, const char* what) {
  DESCENT_CHECK(values.is_array() && std::int64_t(values.size()) == shape.numel(), "optim case: ", what,
                " has ", values.size(), " values; expected ", shape.numel(), " for shape ", shape);
  std::vector<double> out;
  for (const auto& value : values) out.push_back(number_from(value, what));
  return out;
}

Tensor tensor_from(const nlohmann::json& values, const Shape& shape, DType dtype, const char* what) {
  return from_vector(numbers_from(values, shape, what), shape).to(dtype);
}

bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::abs(got - want) <= atol + rtol * std::abs(want);
}

// The objective of a closure case (L-BFGS): f and its gradient at the parameters, written into their grads.
double objective(const std::string& function, std::vector<Tensor>& params) {
  DESCENT_CHECK(function == "rosenbrock" && params.size() == 1 && params[0].numel() == 2, "optim case: closure ",
                "function '", function, "' with ", params.size(),
                " tensors; expected \"rosenbrock\" over one tensor of 2 elements");
  const auto v = params[0].to_vector<double>();
  const double x = v[0], y = v[1];
  const double f = (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
  const std::vector<double> g = {-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)};
  params[0].set_grad(from_vector(g, params[0].shape()).to(params[0].dtype()));
  return f;
}

CaseResult run(const nlohmann::json& spec) {
  const std::string name = spec.at("optimizer").get<std::string>();
  const auto names = optim::optimizer_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) return {false, "not implemented"};
  const DType dtype = parse_dtype(spec.value("dtype", "float32"));
  const double rtol = spec.at("rtol").get<double>(), atol = spec.at("atol").get<double>();

  std::vector<Shape> shapes;
  std::vector<Tensor> params;
  for (std::size_t i = 0; i < spec.at("shapes").size(); ++i) {
    shapes.emplace_back(spec["shapes"][i].get<std::vector<std::int64_t>>());
    params.push_back(tensor_from(spec.at("params").at(i), shapes.back(), dtype, "params"));
  }
  auto optimizer = optim::make_optimizer(name, params, spec.value("options", nlohmann::json::object()));
  const auto& expected = spec.at("expected");
  const nlohmann::json* grads = spec.contains("grads") ? &spec["grads"] : nullptr;
  const nlohmann::json* closure = spec.contains("closure") ? &spec["closure"] : nullptr;
  const nlohmann::json* set = spec.contains("set") ? &spec["set"] : nullptr;
  DESCENT_CHECK((grads != nullptr) != (closure != nullptr), "optim case: expected exactly one of grads ",
                "(the gradient of each step) and closure (a function whose gradient the optimizer evaluates)");
  DESCENT_CHECK(!grads || grads->size() == expected.size(), "optim case: ", grads ? grads->size() : 0,
                " steps of grads but ", expected.size(), " of expected");
  DESCENT_CHECK(!set || (set->is_array() && set->size() == expected.size()), "optim case: set must hold one ",
                "object of hyperparameters per step (", expected.size(), " steps)");
  std::int64_t compared = 0;
  for (std::size_t step = 0; step < expected.size(); ++step) {
    if (set)
      for (const auto& [key, value] : (*set)[step].items())
        for (std::size_t g = 0; g < optimizer->param_groups().size(); ++g)
          optimizer->set_hyperparameter(g, key, number_from(value, "set"));
    if (closure) {
      const std::string function = closure->at("function").get<std::string>();
      optimizer->step([&] { return objective(function, params); });
    } else {
      for (std::size_t i = 0; i < params.size(); ++i)
        params[i].set_grad(tensor_from((*grads)[step].at(i), shapes[i], dtype, "grads"));
      optimizer->step();
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto got = params[i].to_vector<double>();
      const auto want = numbers_from(expected[step].at(i), shapes[i], "expected");
      for (std::size_t k = 0; k < want.size(); ++k, ++compared) {
        if (close(got[k], want[k], rtol, atol)) continue;
        std::ostringstream detail;
        detail.precision(9);
        detail << "step " << step + 1 << ", tensor " << i << ", element " << k << ": got " << got[k]
               << ", want " << want[k] << " (rtol " << rtol << ", atol " << atol << ")";
        return {false, detail.str()};
      }
    }
  }
  return {true, std::to_string(expected.size()) + " steps, " + std::to_string(compared) + " values match"};
}

}  // namespace

CaseResult run_optim_case(const nlohmann::json& case_json) {
  try {
    return run(case_json);
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

}  // namespace descent::vectors
