#include "descent/landscape/hessian.hpp"

#include <cmath>
#include <sstream>

#include "descent/core/error.hpp"

namespace descent::landscape {

PowerIterationResult power_iteration(std::int64_t dims, const HessianVectorProduct& product,
                                     const PowerIterationOptions& options) {
  DESCENT_CHECK(dims > 0, "power iteration: dimension ", dims, ": expected a positive count");
  DESCENT_CHECK(options.max_iterations >= 1, "power iteration: max_iterations = ", options.max_iterations,
                ": expected at least 1");
  DESCENT_CHECK(options.tolerance >= 0, "power iteration: tolerance = ", options.tolerance, ": expected >= 0");
  Generator gen(options.seed);
  FlatVector v(static_cast<std::size_t>(dims));
  for (double& x : v) x = gen.normal();
  double length = norm(v);
  for (double& x : v) x /= length;

  PowerIterationResult result;
  for (std::int64_t k = 0; k < options.max_iterations; ++k) {
    const FlatVector w = product(v);
    DESCENT_CHECK(w.size() == v.size(), "power iteration: the product returned ", w.size(), " values for ",
                  v.size());
    const double rayleigh = dot(v, w);
    DESCENT_CHECK(std::isfinite(rayleigh), "power iteration: the Hessian-vector product is not finite at "
                  "iteration ", k + 1, " (is the loss finite at these weights?)");
    const bool settled = !result.iterations.empty() &&
                         std::abs(rayleigh - result.iterations.back()) < options.tolerance * std::abs(rayleigh);
    result.iterations.push_back(rayleigh);
    result.top_eigenvalue = rayleigh;
    if (settled) {
      result.converged = true;
      break;
    }
    length = norm(w);
    if (length == 0) {  // v lies in the null space: H v = 0 and the quotient 0 is exact for it
      result.converged = true;
      break;
    }
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = w[i] / length;
  }
  return result;
}

PowerIterationResult top_hessian_eigenvalue(nn::Module& model, const LossProbe& probe,
                                            const PowerIterationOptions& options) {
  DESCENT_CHECK(options.epsilon_scale > 0, "hessian: epsilon_scale = ", options.epsilon_scale,
                ": expected a positive number");
  const FlatVector theta = get_parameters(model);
  const double theta_norm = norm(theta);
  // A model whose weights are all zero still gets a usable step.
  const double epsilon = options.epsilon_scale * (theta_norm > 0 ? theta_norm : 1.0);
  FlatVector shifted(theta.size());
  const auto gradient_at = [&](std::span<const double> v, double sign) {
    for (std::size_t i = 0; i < theta.size(); ++i) shifted[i] = theta[i] + sign * epsilon * v[i];
    set_parameters(model, shifted);
    return probe.gradient(model);
  };
  const auto product = [&](std::span<const double> v) {
    const FlatVector plus = gradient_at(v, +1), minus = gradient_at(v, -1);
    FlatVector hv(theta.size());
    for (std::size_t i = 0; i < hv.size(); ++i) hv[i] = (plus[i] - minus[i]) / (2 * epsilon);
    return hv;
  };
  PowerIterationResult result;
  try {
    result = power_iteration(std::int64_t(theta.size()), product, options);
  } catch (...) {
    set_parameters(model, theta);
    throw;
  }
  set_parameters(model, theta);
  result.epsilon = epsilon;
  result.epsilon_scale = options.epsilon_scale;
  return result;
}

std::string hessian_method_description(const PowerIterationResult& result, std::int64_t samples) {
  std::ostringstream text;
  text << "power iteration on central finite-difference Hessian-vector products (eps = "
       << result.epsilon_scale << " x ||theta|| = " << result.epsilon << "), " << result.iterations.size() << " iterations"
       << (result.converged ? "" : " (not converged)") << ", loss on " << samples << " fixed training samples";
  return text.str();
}

}  // namespace descent::landscape
