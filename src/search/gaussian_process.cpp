#include "descent/search/gaussian_process.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "descent/core/error.hpp"
#include "normal.hpp"

namespace descent::search {

namespace {

const double kSqrt5 = std::sqrt(5.0);

bool try_cholesky(std::vector<double>& a, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    double pivot = a[j * n + j];
    for (std::size_t k = 0; k < j; ++k) pivot -= a[j * n + k] * a[j * n + k];
    if (!(pivot > 0.0) || !std::isfinite(pivot)) return false;
    const double diagonal = std::sqrt(pivot);
    a[j * n + j] = diagonal;
    for (std::size_t i = j + 1; i < n; ++i) {
      double sum = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) sum -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = sum / diagonal;
    }
    for (std::size_t k = j + 1; k < n; ++k) a[j * n + k] = 0.0;
  }
  return true;
}

// Solves L x = b in place (L lower, row-major).
void solve_lower(const std::vector<double>& l, std::size_t n, std::vector<double>& b) {
  for (std::size_t i = 0; i < n; ++i) {
    double sum = b[i];
    for (std::size_t k = 0; k < i; ++k) sum -= l[i * n + k] * b[k];
    b[i] = sum / l[i * n + i];
  }
}

// Solves L^T x = b in place.
void solve_upper_transposed(const std::vector<double>& l, std::size_t n, std::vector<double>& b) {
  for (std::size_t i = n; i-- > 0;) {
    double sum = b[i];
    for (std::size_t k = i + 1; k < n; ++k) sum -= l[k * n + i] * b[k];
    b[i] = sum / l[i * n + i];
  }
}

struct Bounds {
  double low, high;
};
constexpr Bounds kLogLengthscale{-4.605170185988091, 2.995732273553991};  // [0.01, 20]
constexpr Bounds kLogSignal{-2.995732273553991, 2.995732273553991};       // [0.05, 20]
constexpr Bounds kLogNoise{-13.815510557964274, 0.0};                      // [1e-6, 1]

std::vector<double> pack(const GpHyperparameters& h) {
  std::vector<double> theta = h.log_lengthscales;
  theta.push_back(h.log_signal_variance);
  theta.push_back(h.log_noise_variance);
  return theta;
}

GpHyperparameters unpack(const std::vector<double>& theta) {
  GpHyperparameters h;
  h.log_lengthscales.assign(theta.begin(), theta.end() - 2);
  h.log_signal_variance = theta[theta.size() - 2];
  h.log_noise_variance = theta.back();
  return h;
}

Bounds bounds_of(std::size_t index, std::size_t size) {
  if (index + 2 < size) return kLogLengthscale;
  return index + 2 == size ? kLogSignal : kLogNoise;
}

double matern52_scaled(std::span<const double> a, std::span<const double> b,
                       const std::vector<double>& inverse_lengthscales, double signal_variance) {
  double r2 = 0.0;
  for (std::size_t d = 0; d < a.size(); ++d) {
    const double scaled = (a[d] - b[d]) * inverse_lengthscales[d];
    r2 += scaled * scaled;
  }
  const double r = std::sqrt(r2);
  return signal_variance * (1.0 + kSqrt5 * r + 5.0 / 3.0 * r2) * std::exp(-kSqrt5 * r);
}

}  // namespace

double matern52(std::span<const double> a, std::span<const double> b, const GpHyperparameters& h) {
  std::vector<double> inverse_lengthscales;
  for (double log_l : h.log_lengthscales) inverse_lengthscales.push_back(std::exp(-log_l));
  return matern52_scaled(a, b, inverse_lengthscales, std::exp(h.log_signal_variance));
}

double cholesky_with_jitter(std::vector<double>& matrix, std::size_t n) {
  DESCENT_CHECK(matrix.size() == n * n, "cholesky: got ", matrix.size(), " entries, expected ", n * n);
  const std::vector<double> original = matrix;
  if (try_cholesky(matrix, n)) return 0.0;
  double mean_diagonal = 0.0;
  for (std::size_t i = 0; i < n; ++i) mean_diagonal += std::abs(original[i * n + i]) / double(n);
  double jitter = 1e-10 * std::max(mean_diagonal, 1e-300);
  for (int attempt = 0; attempt < 7; ++attempt, jitter *= 10.0) {
    matrix = original;
    for (std::size_t i = 0; i < n; ++i) matrix[i * n + i] += jitter;
    if (try_cholesky(matrix, n)) return jitter;
  }
  throw Error("cholesky: the matrix is not positive definite even with jitter " + std::to_string(jitter / 10.0) +
              " on the diagonal, expected a covariance matrix");
}

GaussianProcess::GaussianProcess(std::vector<std::vector<double>> inputs, std::vector<double> targets,
                                 GpHyperparameters h)
    : inputs_(std::move(inputs)), targets_(std::move(targets)), h_(std::move(h)) {
  const std::size_t n = inputs_.size();
  DESCENT_CHECK(n >= 1 && targets_.size() == n, "gaussian process: got ", n, " inputs and ", targets_.size(),
                " targets, expected as many of each and at least one");
  for (const auto& x : inputs_) {
    DESCENT_CHECK(x.size() == h_.log_lengthscales.size(), "gaussian process: an input has ", x.size(),
                  " dimensions, expected ", h_.log_lengthscales.size(), " (one per lengthscale)");
  }
  for (double log_l : h_.log_lengthscales) inverse_lengthscales_.push_back(std::exp(-log_l));
  signal_variance_ = std::exp(h_.log_signal_variance);
  cholesky_.assign(n * n, 0.0);
  const double noise = std::exp(h_.log_noise_variance);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      const double k = matern52_scaled(inputs_[i], inputs_[j], inverse_lengthscales_, signal_variance_) +
                       (i == j ? noise : 0.0);
      cholesky_[i * n + j] = k;
      cholesky_[j * n + i] = k;
    }
  }
  jitter_ = cholesky_with_jitter(cholesky_, n);
  alpha_ = targets_;
  solve_lower(cholesky_, n, alpha_);
  solve_upper_transposed(cholesky_, n, alpha_);
}

double GaussianProcess::log_marginal_likelihood() const {
  const std::size_t n = targets_.size();
  double fit = 0.0, log_det = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    fit += targets_[i] * alpha_[i];
    log_det += std::log(cholesky_[i * n + i]);
  }
  return -0.5 * fit - log_det - 0.5 * double(n) * std::log(2.0 * std::numbers::pi);
}

std::vector<double> GaussianProcess::log_marginal_likelihood_gradient() const {
  const std::size_t n = targets_.size();
  const std::size_t dims = h_.log_lengthscales.size();
  // W = alpha alpha^T - K^-1 (GPML eq. 5.9); K^-1 column by column from the factor.
  std::vector<double> w(n * n);
  std::vector<double> column(n);
  for (std::size_t j = 0; j < n; ++j) {
    std::fill(column.begin(), column.end(), 0.0);
    column[j] = 1.0;
    solve_lower(cholesky_, n, column);
    solve_upper_transposed(cholesky_, n, column);
    for (std::size_t i = 0; i < n; ++i) w[i * n + j] = alpha_[i] * alpha_[j] - column[i];
  }
  std::vector<double> gradient(dims + 2, 0.0);
  const double signal = std::exp(h_.log_signal_variance);
  std::vector<double> inverse_l2(dims);
  for (std::size_t d = 0; d < dims; ++d) inverse_l2[d] = std::exp(-2.0 * h_.log_lengthscales[d]);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double r2 = 0.0;
      for (std::size_t d = 0; d < dims; ++d) {
        const double delta = inputs_[i][d] - inputs_[j][d];
        r2 += delta * delta * inverse_l2[d];
      }
      const double r = std::sqrt(r2);
      const double decay = std::exp(-kSqrt5 * r);
      const double half_w = 0.5 * w[i * n + j];
      // dk/dlog l_d = s2 (5/3) (1 + sqrt5 r) exp(-sqrt5 r) delta_d^2 / l_d^2
      const double radial = signal * 5.0 / 3.0 * (1.0 + kSqrt5 * r) * decay;
      for (std::size_t d = 0; d < dims; ++d) {
        const double delta = inputs_[i][d] - inputs_[j][d];
        gradient[d] += half_w * radial * delta * delta * inverse_l2[d];
      }
      gradient[dims] += half_w * signal * (1.0 + kSqrt5 * r + 5.0 / 3.0 * r2) * decay;
    }
    gradient[dims + 1] += 0.5 * w[i * n + i] * std::exp(h_.log_noise_variance);
  }
  return gradient;
}

GaussianProcess::Prediction GaussianProcess::predict(std::span<const double> x) const {
  const std::size_t n = targets_.size();
  std::vector<double> k(n);
  DESCENT_CHECK(x.size() == inverse_lengthscales_.size(), "gaussian process: a query has ", x.size(),
                " dimensions, expected ", inverse_lengthscales_.size());
  for (std::size_t i = 0; i < n; ++i) k[i] = matern52_scaled(inputs_[i], x, inverse_lengthscales_, signal_variance_);
  double mean = 0.0;
  for (std::size_t i = 0; i < n; ++i) mean += k[i] * alpha_[i];
  solve_lower(cholesky_, n, k);
  double explained = 0.0;
  for (double v : k) explained += v * v;
  return {mean, std::max(0.0, signal_variance_ - explained)};
}

GpHyperparameters fit_gp_hyperparameters(const std::vector<std::vector<double>>& inputs,
                                         const std::vector<double>& targets, Generator& generator, int restarts,
                                         int iterations) {
  DESCENT_CHECK(!inputs.empty(), "gaussian process: no inputs to fit, expected at least one");
  const std::size_t dims = inputs.front().size();
  GpHyperparameters start;
  start.log_lengthscales.assign(dims, std::log(0.5));
  start.log_signal_variance = 0.0;
  start.log_noise_variance = std::log(1e-3);

  GpHyperparameters best = start;
  double best_lml = -std::numeric_limits<double>::infinity();
  std::vector<double> m, v;  // Adam moments
  for (int r = 0; r < std::max(1, restarts); ++r) {
    std::vector<double> theta = pack(start);
    if (r > 0) {
      for (std::size_t d = 0; d < dims; ++d) theta[d] = std::log(0.05) + generator.uniform() * std::log(40.0);
      theta[dims] = std::log(0.3) + generator.uniform() * std::log(10.0);
      theta[dims + 1] = std::log(1e-5) + generator.uniform() * std::log(1e4);
    }
    // Adam (Kingma & Ba 2015) ascent, projected onto the bounds; the best iterate is kept.
    m.assign(theta.size(), 0.0);
    v.assign(theta.size(), 0.0);
    const double rate = 0.1, beta1 = 0.9, beta2 = 0.999;
    for (int t = 1; t <= iterations; ++t) {
      std::vector<double> gradient;
      try {
        GaussianProcess gp(inputs, targets, unpack(theta));
        const double lml = gp.log_marginal_likelihood();
        if (std::isfinite(lml) && lml > best_lml) {
          best_lml = lml;
          best = unpack(theta);
        }
        gradient = gp.log_marginal_likelihood_gradient();
      } catch (const Error&) {
        break;  // numerically singular here: this start is done
      }
      for (std::size_t i = 0; i < theta.size(); ++i) {
        m[i] = beta1 * m[i] + (1 - beta1) * gradient[i];
        v[i] = beta2 * v[i] + (1 - beta2) * gradient[i] * gradient[i];
        const double m_hat = m[i] / (1 - std::pow(beta1, t));
        const double v_hat = v[i] / (1 - std::pow(beta2, t));
        const Bounds b = bounds_of(i, theta.size());
        theta[i] = std::clamp(theta[i] + rate * m_hat / (std::sqrt(v_hat) + 1e-8), b.low, b.high);
      }
    }
  }
  return best;
}

double expected_improvement(double mean, double sd, double best, double xi) {
  const double gain = best - mean - xi;
  if (!(sd > 1e-12)) return std::max(gain, 0.0);
  const double z = gain / sd;
  return gain * detail::normal_cdf(z) + sd * detail::normal_pdf(z);
}

}  // namespace descent::search
