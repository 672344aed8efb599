#include "descent/vectors/scaler.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "descent/core/tensor.hpp"
#include "descent/transform/grad_scaler.hpp"

namespace descent::vectors {

namespace {

double number_from(const nlohmann::json& value) {
  if (value.is_string()) {
    const auto text = value.get<std::string>();
    if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
  }
  DESCENT_CHECK(value.is_number(), "scaler case: ", value.dump(), " is not a number, \"nan\", \"inf\" or \"-inf\"");
  return value.get<double>();
}

bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

CaseResult run(const nlohmann::json& spec) {
  const auto& options = spec.at("scaler");
  transform::GradScalerOptions o;
  o.init_scale = options.value("init_scale", o.init_scale);
  o.growth_factor = options.value("growth_factor", o.growth_factor);
  o.backoff_factor = options.value("backoff_factor", o.backoff_factor);
  o.growth_interval = options.value("growth_interval", o.growth_interval);
  transform::GradScaler scaler(o);
  const double rtol = spec.at("rtol").get<double>(), atol = spec.at("atol").get<double>();
  const auto shapes = spec.at("shapes").get<std::vector<std::vector<std::int64_t>>>();
  std::vector<Tensor> params;
  for (const auto& shape : shapes) params.push_back(zeros(Shape(shape)));
  const auto& steps = spec.at("steps");
  std::int64_t compared = 0;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const auto& step = steps[s];
    for (std::size_t i = 0; i < params.size(); ++i) {
      std::vector<double> values;
      for (const auto& v : step.at("grads").at(i)) values.push_back(number_from(v));
      DESCENT_CHECK(std::int64_t(values.size()) == params[i].numel(), "scaler case: step ", s + 1, " tensor ", i,
                    " has ", values.size(), " gradients; expected ", params[i].numel());
      params[i].set_grad(from_vector(values, params[i].shape()).to(DType::Float32));
    }
    bool found = false;
    for (const auto& list : step.at("unscale")) {
      std::vector<Tensor> group;
      for (const auto& index : list) group.push_back(params.at(index.get<std::size_t>()));
      found = scaler.unscale_(group) || found;
    }
    if (found != step.at("expected_found_inf").get<bool>())
      return {false, detail::concat("step ", s + 1, ": found_inf ", found, ", expected ", !found)};
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto got = params[i].grad().to_vector<double>();
      const auto& want = step.at("expected_grads").at(i);
      for (std::size_t k = 0; k < got.size(); ++k, ++compared)
        if (!close(got[k], number_from(want.at(k)), rtol, atol))
          return {false, detail::concat("step ", s + 1, ", tensor ", i, " element ", k, ": unscaled gradient ",
                                        got[k], ", expected ", want.at(k).dump())};
    }
    scaler.update();
    const double want_scale = step.at("expected_scale").get<double>();
    if (scaler.scale() != want_scale)
      return {false, detail::concat("step ", s + 1, ": scale ", scaler.scale(), ", expected ", want_scale)};
    ++compared;
  }
  return {true, detail::concat(steps.size(), " steps, ", compared, " values match")};
}

}  // namespace

CaseResult run_scaler_case(const nlohmann::json& spec) {
  try {
    return run(spec);
  } catch (const nlohmann::json::exception& e) {
    return {false, detail::concat("scaler case: ", e.what(), "; expected the fields described in "
                                  "tests/data/vectors/README.md (scaler, shapes, steps, rtol, atol)")};
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

}  // namespace descent::vectors
