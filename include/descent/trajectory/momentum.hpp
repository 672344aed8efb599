#pragma once
// Heavy-ball momentum on quadratics: for f(x) = (1/2) x^T A x with the eigenvalues of A log-spaced in
// [mu, L] (condition number kappa = L / mu), sweep the learning rate alpha and the momentum beta of
// descent's SGD and measure the linear convergence rate of ||x_t - x*||; compare with Polyak's optimum.
//
// PyTorch's SGD form (dampening 0, no Nesterov, constant lr):  b_t = beta b_{t-1} + g_t,  x_{t+1} = x_t - alpha b_t
// equals Polyak's heavy ball                                   x_{t+1} = x_t - alpha g_t + beta (x_t - x_{t-1})
// with the same alpha and beta: x_{t+1} - x_t = -alpha b_t = -alpha g_t - alpha beta b_{t-1}
// = -alpha g_t + beta (x_t - x_{t-1}); the first step b_0 = g_0 is Polyak's with x_{-1} = x_0.
//
// Theory (Polyak 1964, "Some methods of speeding up the convergence of iteration methods", USSR Comput.
// Math. and Math. Phys. 4(5):1-17; Goh 2017, "Why Momentum Really Works", Distill):
//   alpha* = 4 / (sqrt(L) + sqrt(mu))^2,  beta* = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2,
//   rate*  = (sqrt(kappa) - 1) / (sqrt(kappa) + 1);   gradient descent: alpha = 2 / (L + mu),
//   rate (kappa - 1) / (kappa + 1).
// Measured rate: exp of the least-squares slope of log ||x_t - x*|| over the second half of the run (a
// run stops early once the distance has shrunk or grown by 1e100, so the logarithm stays finite).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace descent::trajectory {

struct HeavyBallTheory {
  double lr, momentum, rate;
  double gd_lr, gd_rate;
};
HeavyBallTheory heavy_ball_theory(double mu, double L);

struct MomentumStudyOptions {
  double condition_number = 100;
  double mu = 1;
  int dims = 2;
  std::vector<double> lrs;      // empty: 0.1 alpha* .. 2 alpha* in steps of 0.05 alpha* (holds alpha*)
  std::vector<double> momenta;  // empty: 0 .. 0.98 in steps of 0.02
  std::int64_t steps = 1000;
};

// The measured rate of descent's SGD(lr, momentum) on the study's quadratic from x_0 = (1, ..., 1);
// nullopt when the distance is not finite (NaN).
std::optional<double> measured_rate(const MomentumStudyOptions& options, double lr, double momentum);

struct MomentumStudy {
  MomentumStudyOptions options;  // grids filled in
  HeavyBallTheory theory;
  std::vector<std::vector<std::optional<double>>> rate;  // rate[i][j] at (lrs[j], momenta[i])
  double best_lr = 0, best_momentum = 0, best_rate = 0;
  double gd_rate_measured = 0;
  double theory_rate_measured = 0;  // at (alpha*, beta*) exactly
  double compute_seconds = 0;
};

MomentumStudy run_momentum_study(MomentumStudyOptions options);
nlohmann::json momentum_json(const MomentumStudy& study);

// "a:b:n": n evenly spaced values from a to b inclusive (n >= 1; n = 1 gives a). `what` names the flag.
std::vector<double> parse_range(const std::string& text, const std::string& what);

}  // namespace descent::trajectory
