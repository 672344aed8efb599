#pragma once
// Gaussian-process regression for Bayesian optimisation (C. E. Rasmussen & C. K. I. Williams,
// "Gaussian Processes for Machine Learning", MIT Press 2006: algorithm 2.1 for the posterior and the
// log marginal likelihood, eq. 5.9 for its gradient).
//
// Kernel: Matérn 5/2 with one lengthscale per input (ARD, GPML eq. 4.17),
//   k(a, b) = s2 (1 + sqrt(5) r + 5/3 r^2) exp(-sqrt(5) r),   r^2 = sum_d ((a_d - b_d) / l_d)^2,
// plus noise variance on the diagonal. Hyperparameters live in log space.
#include <cstddef>
#include <span>
#include <vector>

#include "descent/core/rng.hpp"

namespace descent::search {

struct GpHyperparameters {
  std::vector<double> log_lengthscales;  // one per input dimension
  double log_signal_variance = 0.0;
  double log_noise_variance = -9.2;  // about 1e-4
};

double matern52(std::span<const double> a, std::span<const double> b, const GpHyperparameters& h);

// Lower Cholesky factor of the symmetric positive definite n x n row-major `matrix`, in place (the
// upper triangle is zeroed). When a pivot is not positive, retries with jitter added to the diagonal,
// starting at 1e-10 times the mean diagonal and growing 10x up to 6 times. Returns the jitter used
// (0 when none); throws descent::Error when even the largest fails.
double cholesky_with_jitter(std::vector<double>& matrix, std::size_t n);

class GaussianProcess {
 public:
  // inputs: n points of equal dimension; targets: n values (standardise them first).
  GaussianProcess(std::vector<std::vector<double>> inputs, std::vector<double> targets, GpHyperparameters h);

  double log_marginal_likelihood() const;
  // d log_marginal_likelihood / d (log_lengthscales..., log_signal_variance, log_noise_variance).
  std::vector<double> log_marginal_likelihood_gradient() const;
  struct Prediction {
    double mean;
    double variance;  // of the latent function, noise excluded
  };
  Prediction predict(std::span<const double> x) const;

  const GpHyperparameters& hyperparameters() const { return h_; }
  double jitter() const { return jitter_; }

 private:
  std::vector<std::vector<double>> inputs_;
  std::vector<double> targets_;
  GpHyperparameters h_;
  std::vector<double> inverse_lengthscales_;
  double signal_variance_ = 1.0;
  std::vector<double> cholesky_;  // L with L L^T = K + (noise + jitter) I
  std::vector<double> alpha_;     // (K + noise I)^-1 y
  double jitter_ = 0.0;
};

// Maximum-likelihood hyperparameters: projected Adam ascent on the log marginal likelihood (in log
// space, within lengthscale [0.01, 20], signal variance [0.05, 20], noise variance [1e-6, 1], for
// inputs in [0, 1] and standardised targets) from a default start (lengthscales 0.5, unit signal,
// noise 1e-3) and restarts - 1 random starts; the best of them wins.
GpHyperparameters fit_gp_hyperparameters(const std::vector<std::vector<double>>& inputs,
                                         const std::vector<double>& targets, Generator& generator, int restarts,
                                         int iterations = 80);

// Expected improvement below `best` (minimisation) of a Gaussian N(mean, sd^2), with margin xi
// (Jones, Schonlau & Welch, "Efficient Global Optimization of Expensive Black-Box Functions", 1998).
double expected_improvement(double mean, double sd, double best, double xi);

}  // namespace descent::search
