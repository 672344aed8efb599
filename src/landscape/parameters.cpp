#include "descent/landscape/parameters.hpp"

#include <cmath>

#include "descent/core/error.hpp"

namespace descent::landscape {

FlatVector get_parameters(const nn::Module& model) {
  FlatVector out;
  out.reserve(model.parameter_count());
  for (const Tensor& p : model.parameters()) {
    const auto values = p.to_vector<double>();
    out.insert(out.end(), values.begin(), values.end());
  }
  return out;
}

void set_parameters(nn::Module& model, std::span<const double> values) {
  DESCENT_CHECK(values.size() == model.parameter_count(), "set_parameters: ", values.size(),
                " values for a model of ", model.parameter_count(), " parameters");
  NoGradGuard no_grad;  // writing into leaves that require grad is refused while recording
  std::size_t offset = 0;
  for (Tensor p : model.parameters()) {
    const auto n = std::size_t(p.numel());
    p.copy_(from_vector<double>(values.subspan(offset, n), p.shape()));
    offset += n;
  }
}

FlatVector get_gradients(const nn::Module& model) {
  FlatVector out;
  out.reserve(model.parameter_count());
  for (const Tensor& p : model.parameters()) {
    const Tensor g = p.grad();
    if (g.defined()) {
      const auto values = g.to_vector<double>();
      out.insert(out.end(), values.begin(), values.end());
    } else {
      out.insert(out.end(), std::size_t(p.numel()), 0.0);
    }
  }
  return out;
}

FlatVector filter_normalized_direction(const nn::Module& model, Generator& gen) {
  FlatVector direction;
  direction.reserve(model.parameter_count());
  for (const Tensor& p : model.parameters()) {
    const auto weights = p.to_vector<double>();
    if (p.dim() <= 1) {  // biases and normalisation parameters: "ignore biasbn"
      direction.insert(direction.end(), weights.size(), 0.0);
      continue;
    }
    const std::size_t filters = std::size_t(p.size(0));
    const std::size_t filter_size = weights.size() / filters;
    for (std::size_t f = 0; f < filters; ++f) {
      std::vector<double> d(filter_size);
      double d_norm = 0, w_norm = 0;
      for (std::size_t i = 0; i < filter_size; ++i) {
        d[i] = gen.normal();
        d_norm += d[i] * d[i];
        w_norm += weights[f * filter_size + i] * weights[f * filter_size + i];
      }
      // The 1e-10 keeps a zero draw finite, as in the paper's code.
      const double scale = std::sqrt(w_norm) / (std::sqrt(d_norm) + 1e-10);
      for (double v : d) direction.push_back(v * scale);
    }
  }
  return direction;
}

std::map<std::string, Tensor> interpolate_state(const std::map<std::string, Tensor>& a,
                                                const std::map<std::string, Tensor>& b, double alpha) {
  DESCENT_CHECK(a.size() == b.size(), "interpolate_state: states of ", a.size(), " and ", b.size(), " tensors");
  std::map<std::string, Tensor> out;
  for (const auto& [name, end] : b) {
    const auto it = a.find(name);
    DESCENT_CHECK(it != a.end(), "interpolate_state: '", name, "' is missing from the first state");
    const Tensor& start = it->second;
    DESCENT_CHECK(start.shape() == end.shape(), "interpolate_state: '", name, "' has shapes ",
                  start.shape().to_string(), " and ", end.shape().to_string());
    if (!is_floating(end.dtype())) {
      out.emplace(name, end.clone());
      continue;
    }
    const auto x0 = start.to_vector<double>(), x1 = end.to_vector<double>();
    std::vector<double> x(x0.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = x0[i] + alpha * (x1[i] - x0[i]);
    out.emplace(name, from_vector<double>(x, end.shape()).to(end.dtype()));
  }
  return out;
}

double dot(std::span<const double> a, std::span<const double> b) {
  DESCENT_CHECK(a.size() == b.size(), "dot: vectors of ", a.size(), " and ", b.size(), " elements");
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

double norm(std::span<const double> a) { return std::sqrt(dot(a, a)); }

}  // namespace descent::landscape
