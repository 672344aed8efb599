#pragma once
// Statistics for paired comparisons of optimizer setups across seeds.
//
// Conventions follow SciPy 1.10 (checked against it in tests/compare/): the sample standard deviation has
// ddof = 1; the 95% confidence interval of a mean is mean ± t(0.975, n-1)·sd/√n
// (scipy.stats.t.interval); the paired t-test and the Wilcoxon signed-rank test are two-sided and take the
// paired differences (scipy.stats.ttest_rel, scipy.stats.wilcoxon with its defaults: zero_method "wilcox",
// no continuity correction, method "auto"). Holm's step-down adjustment is monotone and capped at 1.
//
// A value that does not exist for the data (a deviation of one sample, a test on zero-spread differences)
// is std::nullopt, never NaN or infinity, so that it is written as JSON null.
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace descent::compare {

// Mean, sample deviation and 95% confidence interval of the mean. n = 0: everything empty; n = 1: the mean
// only.
struct SampleSummary {
  std::size_t n = 0;
  std::optional<double> mean, std, ci95_low, ci95_high;
};
SampleSummary summarize(std::span<const double> values);

// Sample standard deviation (ddof = 1); empty for fewer than two values.
std::optional<double> sample_std(std::span<const double> values);

struct TestResult {
  std::optional<double> statistic, p_value;
};

// Paired t-test on the differences (t = mean / (sd/√n), n-1 degrees of freedom, two-sided p). Empty for
// n < 2 or when the differences have no spread (t would be infinite or undefined).
TestResult paired_t_test(std::span<const double> differences);

// Wilcoxon signed-rank test on the differences, as scipy.stats.wilcoxon(d) in SciPy 1.10:
//   statistic = min(R+, R-) over ranks of |d| (average ranks for ties);
//   exact null distribution of R+ when n <= 50 and no difference is zero (R+ truncated to an integer
//   when ties make it fractional, as SciPy does); otherwise zeros are dropped and the normal approximation
//   with the tie correction of the variance is used (no continuity correction). Empty for no differences
//   or when every difference is zero (SciPy raises there).
TestResult wilcoxon_signed_rank(std::span<const double> differences);

// Cohen's d of paired differences: mean / sd (ddof = 1). Empty for n < 2 or zero spread.
std::optional<double> cohens_d(std::span<const double> differences);

// Holm-Bonferroni adjusted p-values, in the input order: the k-th smallest of the m present values becomes
// max over j <= k of min(1, (m - j + 1)·p_(j)). Empty entries stay empty and do not count in m.
std::vector<std::optional<double>> holm_adjust(const std::vector<std::optional<double>>& p_values);

// Special functions the tests are built from, exposed for checking.
double regularized_incomplete_beta(double a, double b, double x);  // I_x(a, b), x in [0, 1]
double student_t_cdf(double t, double degrees_of_freedom);
double student_t_quantile(double probability, double degrees_of_freedom);  // probability in (0, 1)
double normal_survival(double z);                                            // P(Z > z)
// Probabilities of R+ = 0 .. n(n+1)/2 under the null (all 2^n sign patterns equally likely).
std::vector<double> wilcoxon_null_distribution(std::size_t n);
// Ranks of the values (1-based), ties getting the average of the ranks they span.
std::vector<double> average_ranks(std::span<const double> values);

}  // namespace descent::compare
