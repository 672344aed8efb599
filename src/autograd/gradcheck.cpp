#include "descent/autograd/gradcheck.hpp"

#include <cmath>
#include <sstream>

#include "descent/autograd/node.hpp"
#include "descent/autograd/ops.hpp"
#include "descent/core/rng.hpp"

namespace descent::autograd {

namespace {
// sum(f(x) * w) in float64, without recording.
double weighted_output(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                       const std::vector<double>& weights) {
  NoGradGuard guard;
  const auto values = f(inputs).to_vector<double>();
  double total = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) total += values[i] * weights[i];
  return total;
}
}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  for (const Tensor& t : inputs) {
    DESCENT_CHECK(t.dtype() == DType::Float64, "gradcheck: inputs must be float64, got ", dtype_name(t.dtype()));
    if (t.requires_grad()) t.impl()->grad.reset();
  }
  Tensor out = f(inputs);
  Generator gen(1234);
  std::vector<double> weights(std::size_t(out.numel()));
  for (auto& w : weights) w = gen.uniform() * 2.0 - 1.0;
  backward(out, from_vector(weights, out.shape()));

  GradcheckResult result;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& input = inputs[k];
    if (!input.requires_grad()) continue;
    const Tensor analytic = input.grad();
    const auto analytic_values = analytic.defined() ? analytic.to_vector<double>()
                                                    : std::vector<double>(std::size_t(input.numel()), 0.0);
    // Perturb through a flat element view of the input (which may be non-contiguous).
    std::vector<std::int64_t> offsets;
    {
      Shape strides = input.strides();
      std::vector<std::int64_t> index(std::size_t(input.dim()), 0);
      for (std::int64_t n = 0; n < input.numel(); ++n) {
        std::int64_t off = input.offset();
        for (int d = 0; d < input.dim(); ++d) off += index[std::size_t(d)] * strides[d];
        offsets.push_back(off);
        for (int d = input.dim() - 1; d >= 0; --d) {
          if (++index[std::size_t(d)] < input.shape()[d]) break;
          index[std::size_t(d)] = 0;
        }
      }
    }
    double* data = static_cast<double*>(input.storage()->data());
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      const double saved = data[offsets[i]];
      data[offsets[i]] = saved + options.eps;
      const double plus = weighted_output(f, inputs, weights);
      data[offsets[i]] = saved - options.eps;
      const double minus = weighted_output(f, inputs, weights);
      data[offsets[i]] = saved;
      const double numeric = (plus - minus) / (2.0 * options.eps);
      const double error = std::abs(numeric - analytic_values[i]);
      result.max_abs_error = std::max(result.max_abs_error, error);
      if (result.passed && error > options.atol + options.rtol * std::abs(numeric)) {
        std::ostringstream detail;
        detail << "input " << k << " element " << i << ": analytic " << analytic_values[i] << ", numeric "
               << numeric;
        result.passed = false;
        result.detail = detail.str();
      }
    }
  }
  return result;
}

}  // namespace descent::autograd
