#include "descent/vectors/optim.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "descent/core/error.hpp"
#include "descent/optim/optimizer.hpp"

namespace descent::vectors {

namespace {

Tensor tensor_from(const nlohmann::json& values, const Shape& shape, DType dtype, const char* what) {
  DESCENT_CHECK(values.is_array() && std::int64_t(values.size()) == shape.numel(), "optim case: ", what,
                " has ", values.size(), " values; expected ", shape.numel(), " for shape ", shape);
  const auto data = values.get<std::vector<double>>();
  return from_vector(data, shape).to(dtype);
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
  const auto& grads = spec.at("grads");
  const auto& expected = spec.at("expected");
  DESCENT_CHECK(grads.size() == expected.size(), "optim case: ", grads.size(), " steps of grads but ",
                expected.size(), " of expected");
  std::int64_t compared = 0;
  for (std::size_t step = 0; step < grads.size(); ++step) {
    for (std::size_t i = 0; i < params.size(); ++i)
      params[i].set_grad(tensor_from(grads[step].at(i), shapes[i], dtype, "grads"));
    optimizer->step();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto got = params[i].to_vector<double>();
      const auto want = expected[step].at(i).get<std::vector<double>>();
      for (std::size_t k = 0; k < want.size(); ++k, ++compared) {
        if (std::abs(got[k] - want[k]) <= atol + rtol * std::abs(want[k])) continue;
        std::ostringstream detail;
        detail.precision(9);
        detail << "step " << step + 1 << ", tensor " << i << ", element " << k << ": got " << got[k]
               << ", want " << want[k] << " (rtol " << rtol << ", atol " << atol << ")";
        return {false, detail.str()};
      }
    }
  }
  return {true, std::to_string(grads.size()) + " steps, " + std::to_string(compared) + " values match"};
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
