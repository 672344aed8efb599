#include "descent/vectors/clip.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "descent/core/tensor.hpp"
#include "descent/transform/clip.hpp"
#include "descent/transform/grad_norm.hpp"

namespace descent::vectors {

namespace {

double parse_norm_type(const nlohmann::json& value) {
  if (value.is_string()) {
    const auto name = value.get<std::string>();
    DESCENT_CHECK(name == "inf" || name == "-inf", "clip case: norm_type = \"", name,
                  "\"; expected a number, \"inf\" or \"-inf\"");
    return name == "inf" ? transform::kInfNorm : -transform::kInfNorm;
  }
  DESCENT_CHECK(value.is_number(), "clip case: norm_type = ", value.dump(), "; expected a number or \"inf\"");
  return value.get<double>();
}

bool close(double got, double want, double rtol, double atol) {
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

CaseResult run(const nlohmann::json& spec) {
  const auto shapes = spec.at("shapes").get<std::vector<std::vector<std::int64_t>>>();
  const auto grads = spec.at("grads").get<std::vector<std::vector<float>>>();
  const auto expected = spec.at("expected").get<std::vector<std::vector<double>>>();
  const double rtol = spec.at("rtol").get<double>(), atol = spec.at("atol").get<double>();
  const auto mode = spec.at("clip").get<std::string>();
  DESCENT_CHECK(grads.size() == shapes.size() && expected.size() == shapes.size(), "clip case: ",
                shapes.size(), " shapes, ", grads.size(), " grads, ", expected.size(),
                " expected; expected one of each per tensor");

  std::vector<Tensor> params;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Shape shape(shapes[i]);
    DESCENT_CHECK(std::int64_t(grads[i].size()) == shape.numel() && std::int64_t(expected[i].size()) == shape.numel(),
                  "clip case: tensor ", i, " of shape ", shape, " has ", grads[i].size(), " grads and ",
                  expected[i].size(), " expected values; expected ", shape.numel(), " of each");
    Tensor param = zeros(shape);
    param.set_grad(from_vector(grads[i], shape));
    params.push_back(param);
  }

  std::string summary;
  if (mode == "norm") {
    const double max_norm = spec.at("max_norm").get<double>();
    const double norm_type = parse_norm_type(spec.at("norm_type"));
    const double want_norm = spec.at("expected_total_norm").get<double>();
    const double got_norm = transform::clip_grad_norm_(params, max_norm, norm_type);
    if (!close(got_norm, want_norm, rtol, atol))
      return {false, detail::concat("total norm (norm_type ", norm_type, "): got ", got_norm, ", expected ",
                                    want_norm)};
    summary = detail::concat("norm_type ", norm_type, ", total norm ", got_norm);
  } else if (mode == "value") {
    const double clip_value = spec.at("clip_value").get<double>();
    transform::clip_grad_value_(params, clip_value);
    summary = detail::concat("clip_value ", clip_value);
  } else {
    throw Error(detail::concat("clip case: clip = \"", mode, "\"; expected \"norm\" or \"value\""));
  }

  std::int64_t compared = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto got = params[i].grad().to_vector<double>();
    for (std::size_t j = 0; j < got.size(); ++j, ++compared)
      if (!close(got[j], expected[i][j], rtol, atol))
        return {false, detail::concat(mode, " clipping, tensor ", i, " element ", j, ": got ", got[j],
                                      ", expected ", expected[i][j], " (rtol ", rtol, ", atol ", atol, ")")};
  }
  return {true, detail::concat(summary, "; ", compared, " clipped gradient elements match")};
}

}  // namespace

CaseResult run_clip_case(const nlohmann::json& spec) {
  try {
    return run(spec);
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("clip case: ", e.what(), "; expected the fields described in "
                               "tests/data/vectors/README.md (shapes, grads, expected, clip, rtol, atol, ...)"));
  }
}

}  // namespace descent::vectors
