// The playground engine (see playground_core.hpp): descent's optimizers stepping on descent's test
// functions, with every input checked at this boundary so the page can show the message.
#include "playground_core.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "descent/core/error.hpp"
#include "descent/core/tensor.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/trajectory/functions.hpp"

namespace descent::playground {
namespace {

constexpr std::int64_t kMaxSteps = 100000;
constexpr int kMaxResolution = 400;

std::unique_ptr<trajectory::TestFunction> planar_function(const std::string& spec) {
  auto function = trajectory::parse_function(spec);
  DESCENT_CHECK(function->dims() == 2, "playground: function '", spec, "' has ", function->dims(),
                " dimensions; the playground draws 2-D functions only (use dims=2)");
  return function;
}

const nlohmann::json& field(const nlohmann::json& request, const char* name, const char* expected) {
  DESCENT_CHECK(request.is_object(), "playground: request ", request.dump(), " is not valid; expected a JSON object");
  DESCENT_CHECK(request.contains(name), "playground: request has no '", name, "'; expected ", expected);
  return request.at(name);
}

std::string string_field(const nlohmann::json& request, const char* name) {
  const auto& value = field(request, name, "a string");
  DESCENT_CHECK(value.is_string(), "playground: '", name, "' = ", value.dump(), " is not valid; expected a string");
  return value.get<std::string>();
}

std::array<double, 2> pair_of_finite(const nlohmann::json& value, const char* name) {
  DESCENT_CHECK(value.is_array() && value.size() == 2 && value[0].is_number() && value[1].is_number(),
                "playground: '", name, "' = ", value.dump(), " is not valid; expected two numbers [a, b]");
  const std::array<double, 2> pair{value[0].get<double>(), value[1].get<double>()};
  DESCENT_CHECK(std::isfinite(pair[0]) && std::isfinite(pair[1]), "playground: '", name, "' = ", value.dump(),
                " is not valid; expected finite numbers");
  return pair;
}

nlohmann::json points_json(const std::vector<trajectory::Point>& points) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& point : points) out.push_back(point);
  return out;
}

// Muon updates matrices only; every other optimizer sees the point as a vector.
Shape parameter_shape(const std::string& optimizer) { return optimizer == "muon" ? Shape{1, 2} : Shape{2}; }

bool all_finite(std::span<const double> values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

}  // namespace

nlohmann::json describe_function(const std::string& spec) {
  const auto function = planar_function(spec);
  const auto& info = function->info();
  nlohmann::json out;
  out["spec"] = spec;
  out["name"] = info.name;
  out["dims"] = info.dims;
  out["bounds"] = {{info.bounds[0][0], info.bounds[0][1]}, {info.bounds[1][0], info.bounds[1][1]}};
  out["default_start"] = info.default_start;
  out["minima"] = points_json(info.minima);
  out["minimum_value"] = info.minimum_value ? nlohmann::json(*info.minimum_value) : nlohmann::json(nullptr);
  out["stationary_points"] = points_json(info.stationary_points);
  return out;
}

nlohmann::json catalogue() {
  nlohmann::json functions = nlohmann::json::array();
  for (const auto& name : trajectory::function_names()) functions.push_back(describe_function(name));
  nlohmann::json optimizers = nlohmann::json::array();
  for (const auto& name : optim::optimizer_names()) {
    // The defaults are what an optimizer built with no options holds.
    Tensor probe = zeros(parameter_shape(name), DType::Float64);
    const auto optimizer = optim::make_optimizer(name, {probe}, nlohmann::json::object());
    optimizers.push_back({{"name", name}, {"options", optimizer->defaults()}});
  }
  return {{"functions", functions}, {"optimizers", optimizers}};
}

nlohmann::json run_path(const nlohmann::json& request) {
  const auto function = planar_function(string_field(request, "function"));
  const std::string name = string_field(request, "optimizer");
  const nlohmann::json options = request.value("options", nlohmann::json::object());
  DESCENT_CHECK(options.is_object(), "playground: 'options' = ", options.dump(),
                " is not valid; expected an object of optimizer options");
  const auto start = pair_of_finite(field(request, "start", "the start point [x, y]"), "start");
  const auto& steps_value = field(request, "steps", "the number of steps");
  DESCENT_CHECK(steps_value.is_number_integer() && steps_value.get<std::int64_t>() >= 1 &&
                    steps_value.get<std::int64_t>() <= kMaxSteps,
                "playground: 'steps' = ", steps_value.dump(), " is not valid; expected an integer in [1, ",
                kMaxSteps, "]");
  const auto steps = steps_value.get<std::int64_t>();

  Tensor param = from_vector(std::vector<double>{start[0], start[1]}, parameter_shape(name));
  param.set_grad(zeros(param.shape(), DType::Float64));
  const std::span<double> x(param.data<double>(), 2);
  const std::span<double> gradient(param.grad().data<double>(), 2);
  auto optimizer = optim::make_optimizer(name, {param}, options);
  const bool needs_closure = optimizer->name() == "lbfgs";

  std::int64_t gradient_evaluations = 1;
  double f = function->evaluate(x, gradient);
  nlohmann::json points = nlohmann::json::array();
  points.push_back({x[0], x[1], f});
  nlohmann::json diverged_at_step = nullptr;
  const auto closure = [&] {
    ++gradient_evaluations;
    return function->evaluate(x, gradient);
  };
  for (std::int64_t step = 1; step <= steps; ++step) {
    if (needs_closure) {
      optimizer->step(closure);
      f = function->value(x);  // the next step's closure recomputes the gradient
    } else {
      optimizer->step();
      f = function->evaluate(x, gradient);  // the gradient the next step reads
      ++gradient_evaluations;
    }
    if (!std::isfinite(f) || !all_finite(x)) {
      diverged_at_step = step;
      break;
    }
    points.push_back({x[0], x[1], f});
  }
  return {{"points", points}, {"diverged_at_step", diverged_at_step}, {"gradient_evaluations", gradient_evaluations}};
}

nlohmann::json contour(const nlohmann::json& request) {
  const auto function = planar_function(string_field(request, "function"));
  const auto& info = function->info();
  const auto& resolution_value = request.value("resolution", nlohmann::json(120));
  DESCENT_CHECK(resolution_value.is_number_integer() && resolution_value.get<int>() >= 2 &&
                    resolution_value.get<int>() <= kMaxResolution,
                "playground: 'resolution' = ", resolution_value.dump(), " is not valid; expected an integer in [2, ",
                kMaxResolution, "]");
  const int resolution = resolution_value.get<int>();
  std::array<std::array<double, 2>, 2> bounds = info.bounds;
  if (request.contains("bounds")) {
    const auto& box = request.at("bounds");
    DESCENT_CHECK(box.is_array() && box.size() == 2, "playground: 'bounds' = ", box.dump(),
                  " is not valid; expected [[x0, x1], [y0, y1]]");
    bounds = {pair_of_finite(box[0], "bounds[0]"), pair_of_finite(box[1], "bounds[1]")};
    DESCENT_CHECK(bounds[0][0] < bounds[0][1] && bounds[1][0] < bounds[1][1], "playground: 'bounds' = ", box.dump(),
                  " is not valid; expected x0 < x1 and y0 < y1");
  }
  std::vector<double> xs(static_cast<std::size_t>(resolution)), ys(xs.size());
  for (int i = 0; i < resolution; ++i) {
    const double t = double(i) / double(resolution - 1);
    xs[std::size_t(i)] = bounds[0][0] + t * (bounds[0][1] - bounds[0][0]);
    ys[std::size_t(i)] = bounds[1][0] + t * (bounds[1][1] - bounds[1][0]);
  }
  nlohmann::json z = nlohmann::json::array();
  for (const double y : ys) {
    std::vector<double> row;
    row.reserve(xs.size());
    for (const double xv : xs) {
      const std::array<double, 2> point{xv, y};
      row.push_back(function->value(point));
    }
    z.push_back(std::move(row));
  }
  return {{"x", xs}, {"y", ys}, {"z", z}};
}

std::string call(const std::string& method, const std::string& request_json) {
  try {
    const nlohmann::json request = request_json.empty() ? nlohmann::json::object() : nlohmann::json::parse(request_json);
    nlohmann::json result;
    if (method == "catalogue")
      result = catalogue();
    else if (method == "describe_function")
      result = describe_function(string_field(request, "function"));
    else if (method == "run_path")
      result = run_path(request);
    else if (method == "contour")
      result = contour(request);
    else
      throw Error("playground: unknown method '" + method +
                  "'; valid methods: catalogue, describe_function, run_path, contour");
    // nlohmann writes non-finite numbers (a function overflowing on the grid) as null; `replace` keeps a
    // message quoting malformed user text valid UTF-8.
    return nlohmann::json{{"ok", result}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception& error) {
    return nlohmann::json{{"error", error.what()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace descent::playground
