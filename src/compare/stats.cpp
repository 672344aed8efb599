#include "descent/compare/stats.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "descent/core/error.hpp"

namespace descent::compare {

namespace {

double mean_of(std::span<const double> values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
}

// Exactly equal values have no spread, even where the rounded mean is off by an ulp and the squared
// deviations would come out at 1e-34 instead of 0 (a t statistic of 1e16 from nothing).
bool all_equal(std::span<const double> values) {
  return std::adjacent_find(values.begin(), values.end(), std::not_equal_to<>()) == values.end();
}

// Continued fraction of I_x(a, b) (modified Lentz), converging fast for x < (a+1)/(a+b+2).
double incomplete_beta_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300;
  constexpr double epsilon = 1e-16;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double fraction = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double numerator = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + numerator * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + numerator / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    fraction *= d * c;
    numerator = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + numerator * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + numerator / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = d * c;
    fraction *= delta;
    if (std::fabs(delta - 1.0) < epsilon) break;
  }
  return fraction;
}

}  // namespace

double regularized_incomplete_beta(double a, double b, double x) {
  DESCENT_CHECK(a > 0 && b > 0, "incomplete beta: expected a > 0 and b > 0, got a = ", a, ", b = ", b);
  DESCENT_CHECK(x >= 0 && x <= 1, "incomplete beta: x = ", x, ": expected a value in [0, 1]");
  if (x == 0 || x == 1) return x;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(log_front) * incomplete_beta_fraction(a, b, x) / a;
  // I_x(a, b) = 1 - I_{1-x}(b, a): the fraction converges on the other side.
  return 1.0 - std::exp(log_front) * incomplete_beta_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double t, double degrees_of_freedom) {
  DESCENT_CHECK(degrees_of_freedom > 0, "Student t: degrees of freedom = ", degrees_of_freedom, ": expected > 0");
  const double x = degrees_of_freedom / (degrees_of_freedom + t * t);
  const double tail = 0.5 * regularized_incomplete_beta(degrees_of_freedom / 2.0, 0.5, x);  // P(T > |t|)
  return t > 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double probability, double degrees_of_freedom) {
  DESCENT_CHECK(probability > 0 && probability < 1, "Student t quantile: probability = ", probability,
                ": expected a value in (0, 1)");
  if (probability == 0.5) return 0.0;
  if (probability < 0.5) return -student_t_quantile(1.0 - probability, degrees_of_freedom);
  // The cdf is increasing: bracket the root, then bisect to the last representable digit.
  double low = 0.0, high = 1.0;
  while (student_t_cdf(high, degrees_of_freedom) < probability) {
    low = high;
    high *= 2.0;
  }
  for (int i = 0; i < 200; ++i) {
    const double middle = 0.5 * (low + high);
    if (middle == low || middle == high) break;
    (student_t_cdf(middle, degrees_of_freedom) < probability ? low : high) = middle;
  }
  return 0.5 * (low + high);
}

double normal_survival(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

std::optional<double> sample_std(std::span<const double> values) {
  if (values.size() < 2) return std::nullopt;
  if (all_equal(values)) return 0.0;
  const double mean = mean_of(values);
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / double(values.size() - 1));
}

SampleSummary summarize(std::span<const double> values) {
  SampleSummary s;
  s.n = values.size();
  if (s.n == 0) return s;
  s.mean = mean_of(values);
  s.std = sample_std(values);
  if (s.std) {
    const double half_width = student_t_quantile(0.975, double(s.n - 1)) * *s.std / std::sqrt(double(s.n));
    s.ci95_low = *s.mean - half_width;
    s.ci95_high = *s.mean + half_width;
  }
  return s;
}

TestResult paired_t_test(std::span<const double> differences) {
  const auto sd = sample_std(differences);
  if (!sd || *sd == 0) return {};
  const double n = double(differences.size());
  const double t = mean_of(differences) / (*sd / std::sqrt(n));
  const double p = regularized_incomplete_beta((n - 1.0) / 2.0, 0.5, (n - 1.0) / (n - 1.0 + t * t));
  return {t, std::min(1.0, p)};
}

std::optional<double> cohens_d(std::span<const double> differences) {
  const auto sd = sample_std(differences);
  if (!sd || *sd == 0) return std::nullopt;
  return mean_of(differences) / *sd;
}

std::vector<double> average_ranks(std::span<const double> values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return values[i] < values[j]; });
  std::vector<double> ranks(values.size());
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start + 1;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    const double rank = 0.5 * double(start + 1 + end);  // the mean of ranks start+1 .. end
    for (std::size_t k = start; k < end; ++k) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

std::vector<double> wilcoxon_null_distribution(std::size_t n) {
  // Adding element k either leaves R+ or raises it by k, each with probability 1/2.
  std::vector<double> probabilities{1.0};
  for (std::size_t k = 1; k <= n; ++k) {
    std::vector<double> next(k * (k + 1) / 2 + 1, 0.0);
    const std::size_t m = probabilities.size();
    for (std::size_t r = 0; r < m; ++r) next[r] = 0.5 * probabilities[r];
    for (std::size_t r = 0; r < m; ++r) next[next.size() - m + r] += 0.5 * probabilities[r];
    probabilities = std::move(next);
  }
  return probabilities;
}

TestResult wilcoxon_signed_rank(std::span<const double> differences) {
  if (differences.empty()) return {};
  const bool has_zero = std::any_of(differences.begin(), differences.end(), [](double d) { return d == 0; });
  const bool exact = differences.size() <= 50 && !has_zero;
  std::vector<double> kept;
  for (double d : differences)
    if (d != 0) kept.push_back(d);
  if (kept.empty()) return {};

  std::vector<double> magnitudes;
  for (double d : kept) magnitudes.push_back(std::fabs(d));
  const std::vector<double> ranks = average_ranks(magnitudes);
  double r_plus = 0, r_minus = 0;
  for (std::size_t i = 0; i < kept.size(); ++i) (kept[i] > 0 ? r_plus : r_minus) += ranks[i];
  const double statistic = std::min(r_plus, r_minus);
  const double count = double(kept.size());

  if (exact) {
    const std::vector<double> pmf = wilcoxon_null_distribution(kept.size());
    const auto r = static_cast<std::size_t>(r_plus);  // SciPy truncates a fractional (tied) R+
    if (r == (pmf.size() - 1) / 2) return {statistic, 1.0};
    double p_less = 0, p_greater = 0;
    for (std::size_t k = 0; k <= r; ++k) p_less += pmf[k];
    for (std::size_t k = r; k < pmf.size(); ++k) p_greater += pmf[k];
    return {statistic, std::clamp(2.0 * std::min(p_less, p_greater), 0.0, 1.0)};
  }

  const double mean = count * (count + 1.0) * 0.25;
  double variance = count * (count + 1.0) * (2.0 * count + 1.0);
  std::vector<double> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t start = 0; start < sorted.size();) {
    std::size_t end = start + 1;
    while (end < sorted.size() && sorted[end] == sorted[start]) ++end;
    const double tied = double(end - start);
    if (tied > 1) variance -= 0.5 * tied * (tied * tied - 1.0);
    start = end;
  }
  const double z = (statistic - mean) / std::sqrt(variance / 24.0);
  return {statistic, std::min(1.0, 2.0 * normal_survival(std::fabs(z)))};
}

std::vector<std::optional<double>> holm_adjust(const std::vector<std::optional<double>>& p_values) {
  std::vector<std::size_t> present;
  for (std::size_t i = 0; i < p_values.size(); ++i)
    if (p_values[i]) present.push_back(i);
  std::stable_sort(present.begin(), present.end(), [&](std::size_t i, std::size_t j) { return *p_values[i] < *p_values[j]; });
  std::vector<std::optional<double>> adjusted(p_values.size());
  const double m = double(present.size());
  double running_max = 0;
  for (std::size_t k = 0; k < present.size(); ++k) {
    running_max = std::max(running_max, std::min(1.0, (m - double(k)) * *p_values[present[k]]));
    adjusted[present[k]] = running_max;
  }
  return adjusted;
}

}  // namespace descent::compare
