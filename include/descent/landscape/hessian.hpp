#pragma once
// The top eigenvalue of the Hessian of the loss: a measure of the sharpness of a minimum.
//
// Power iteration: v_0 a seeded Gaussian unit vector; w = H v_k; lambda_k = v_k . w (the Rayleigh
// quotient); v_{k+1} = w / ||w||. It stops when |lambda_k - lambda_{k-1}| < tolerance * |lambda_k| or
// after max_iterations. It converges to the eigenvalue of largest magnitude: at a minimum the Hessian is
// (nearly) positive semi-definite and that is the top eigenvalue; elsewhere it may be a negative one.
//
// Hessian-vector products by central differences of gradients (descent's autograd does not
// differentiate its backward functions, so there is no exact double-backward product):
//   H v ~ (grad L(theta + eps v) - grad L(theta - eps v)) / (2 eps),   ||v|| = 1,
// exact for a quadratic loss, with an error of order eps^2 otherwise. eps = epsilon_scale * ||theta||
// (1e-3 by default): a step that is a fixed fraction of the weights' size whatever their scale, large
// enough that float32 rounding of theta +- eps v (about 6e-8 |theta_i| per element) stays a small part of
// the step, small enough that the curvature seen is local. Vectors, dot products and quotients are float64;
// the gradients themselves are computed in the model's float32.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "descent/landscape/probe.hpp"

namespace descent::landscape {

struct PowerIterationOptions {
  std::int64_t max_iterations = 20;
  double tolerance = 1e-3;       // relative change of the Rayleigh quotient
  std::uint64_t seed = 0;        // of the starting vector
  double epsilon_scale = 1e-3;   // finite-difference step relative to ||theta||
};

struct PowerIterationResult {
  double top_eigenvalue = 0;
  std::vector<double> iterations;  // the Rayleigh quotient after each iteration
  bool converged = false;
  double epsilon = 0;              // the finite-difference step used (0 for an exact product)
  double epsilon_scale = 0;        // epsilon / ||theta||
};

using HessianVectorProduct = std::function<FlatVector(std::span<const double> v)>;

// Power iteration on any symmetric operator of dimension `dims`.
PowerIterationResult power_iteration(std::int64_t dims, const HessianVectorProduct& product,
                                     const PowerIterationOptions& options);

// The top Hessian eigenvalue of the probe's loss at the model's current parameters, which are restored
// afterwards.
PowerIterationResult top_hessian_eigenvalue(nn::Module& model, const LossProbe& probe,
                                            const PowerIterationOptions& options);

// Describes the method for result files.
std::string hessian_method_description(const PowerIterationResult& result, std::int64_t samples);

}  // namespace descent::landscape
