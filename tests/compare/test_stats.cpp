// The comparison statistics against SciPy: the checked-in reference (tests/compare/scipy_reference.json,
// written by scipy_reference.py) and, when SciPy imports, the same script run live on fresh random data.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "descent/compare/stats.hpp"
#include "descent/core/error.hpp"

namespace descent::compare {
namespace {

using nlohmann::json;

const std::filesystem::path kSourceDir = DESCENT_SOURCE_DIR;

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  return json::parse(in);
}

// `scale` widens the tolerance for values built on a t quantile: SciPy's t.ppf is exact in probability to
// about 1e-11, which leaves about 1e-9 relative in the quantile where the density is small; ours is
// bisected to the last digit (the quantile test checks both against the cdf).
void expect_close(const json& expected, std::optional<double> actual, const std::string& what, double scale = 0) {
  if (expected.is_null()) {
    EXPECT_FALSE(actual.has_value()) << what << ": expected null, got " << actual.value_or(0);
    return;
  }
  ASSERT_TRUE(actual.has_value()) << what << ": expected " << expected.dump() << ", got null";
  const double want = expected.get<double>();
  EXPECT_NEAR(*actual, want, 1e-12 + 1e-9 * std::fabs(want) + 1e-8 * scale) << what;
}

void check_case(const json& c, const std::string& label) {
  const std::vector<double> d = c.at("differences").get<std::vector<double>>();
  const SampleSummary s = summarize(d);
  EXPECT_EQ(s.n, c.at("n").get<std::size_t>()) << label;
  expect_close(c.at("mean"), s.mean, label + " mean");
  expect_close(c.at("std"), s.std, label + " std");
  if (c.at("ci95").is_null()) {
    if (s.std && *s.std > 0) ADD_FAILURE() << label << ": SciPy has no interval, we have one";
  } else {
    const double half_width = 0.5 * (c.at("ci95")[1].get<double>() - c.at("ci95")[0].get<double>());
    expect_close(c.at("ci95")[0], s.ci95_low, label + " ci95 low", half_width);
    expect_close(c.at("ci95")[1], s.ci95_high, label + " ci95 high", half_width);
  }
  const TestResult t = paired_t_test(d);
  expect_close(c.at("t_statistic"), t.statistic, label + " t statistic");
  expect_close(c.at("t_p"), t.p_value, label + " t p");
  expect_close(c.at("cohens_d"), cohens_d(d), label + " Cohen's d");
  const TestResult w = wilcoxon_signed_rank(d);
  expect_close(c.at("wilcoxon_statistic"), w.statistic, label + " Wilcoxon statistic");
  expect_close(c.at("wilcoxon_p"), w.p_value, label + " Wilcoxon p");
}

std::vector<std::optional<double>> optional_list(const json& values) {
  std::vector<std::optional<double>> out;
  for (const auto& v : values) out.push_back(v.is_null() ? std::nullopt : std::optional<double>(v.get<double>()));
  return out;
}

void check_holm(const json& c) {
  const auto adjusted = holm_adjust(optional_list(c.at("p")));
  ASSERT_EQ(adjusted.size(), c.at("adjusted").size());
  for (std::size_t i = 0; i < adjusted.size(); ++i) expect_close(c.at("adjusted")[i], adjusted[i], "holm " + c.dump());
}

TEST(Stats, MatchesTheCheckedInScipyReference) {
  const json reference = read_json(kSourceDir / "tests/compare/scipy_reference.json");
  ASSERT_GE(reference.at("cases").size(), 15u);
  int index = 0;
  for (const auto& c : reference.at("cases")) check_case(c, "case " + std::to_string(index++));
  for (const auto& c : reference.at("holm")) check_holm(c);
  for (const auto& q : reference.at("t_quantiles")) {
    const double p = q.at("p").get<double>(), df = q.at("df").get<double>(), want = q.at("value").get<double>();
    const double quantile = student_t_quantile(p, df);
    EXPECT_NEAR(quantile, want, 1e-8 * std::fabs(want)) << q.dump();
    EXPECT_NEAR(student_t_cdf(quantile, df), p, 1e-14) << q.dump();
  }
  for (const auto& b : reference.at("incomplete_beta")) {
    const double want = b.at("value").get<double>();
    EXPECT_NEAR(regularized_incomplete_beta(b.at("a").get<double>(), b.at("b").get<double>(), b.at("x").get<double>()),
                want, 1e-14 + 1e-10 * want)
        << b.dump();
  }
}

TEST(Stats, ExactWilcoxonDistributionCountsSignPatterns) {
  // n = 3: R+ over the 8 sign patterns of ranks {1, 2, 3} is 0,1,2,3,3,4,5,6.
  const auto pmf = wilcoxon_null_distribution(3);
  const std::vector<double> expected{1, 1, 1, 2, 1, 1, 1};
  ASSERT_EQ(pmf.size(), expected.size());
  for (std::size_t r = 0; r < pmf.size(); ++r) EXPECT_DOUBLE_EQ(pmf[r], expected[r] / 8.0) << r;
  EXPECT_EQ(average_ranks(std::vector<double>{0.3, 0.1, 0.3, 0.2}), (std::vector<double>{3.5, 1, 3.5, 2}));
}

TEST(Stats, UndefinedValuesAreEmptyNotNaN) {
  const std::vector<double> none, one{0.3}, flat{0.2, 0.2, 0.2}, zeros{0, 0, 0, 0};
  EXPECT_EQ(summarize(none).n, 0u);
  EXPECT_FALSE(summarize(none).mean);
  EXPECT_DOUBLE_EQ(*summarize(one).mean, 0.3);
  EXPECT_FALSE(summarize(one).std);
  EXPECT_FALSE(summarize(one).ci95_low);
  EXPECT_FALSE(paired_t_test(one).p_value);
  EXPECT_FALSE(paired_t_test(flat).statistic);
  EXPECT_FALSE(cohens_d(flat));
  EXPECT_FALSE(wilcoxon_signed_rank(zeros).p_value);
  EXPECT_FALSE(wilcoxon_signed_rank(none).statistic);
  // A flat sample has a zero-width interval at its mean.
  EXPECT_DOUBLE_EQ(*summarize(flat).ci95_low, *summarize(flat).mean);
  EXPECT_THROW(student_t_quantile(1.0, 3), Error);
  EXPECT_THROW(regularized_incomplete_beta(1, 1, 1.5), Error);
}

std::string run_and_capture(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  pclose(pipe);
  return output;
}

TEST(Stats, MatchesLiveScipyOnFreshRandomData) {
  if (std::system("/usr/bin/python3 -c 'import scipy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with SciPy is not installed (python3-scipy)";
  const auto seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  SCOPED_TRACE("random seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  json differences = json::array();
  for (int k = 0; k < 24; ++k) {
    const std::size_t n = 2 + rng() % 70;  // both sides of the exact/approximate border at 50
    const double shift = 0.5 * normal(rng);
    const bool coarse = k % 3 == 0;  // rounded values bring ties and zeros
    std::vector<double> d;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = shift + normal(rng);
      d.push_back(coarse ? std::round(v * 4.0) / 4.0 : v);
    }
    differences.push_back(d);
  }
  json holm_lists = json::array();
  for (int k = 0; k < 6; ++k) {
    json list = json::array();
    for (std::size_t i = 0, n = 1 + rng() % 8; i < n; ++i) list.push_back(std::uniform_real_distribution<double>(0, 0.3)(rng));
    holm_lists.push_back(list);
  }
  const auto input = std::filesystem::temp_directory_path() / ("descent-stats-" + std::to_string(seed) + ".json");
  std::ofstream(input) << json{{"differences", differences}, {"holm", holm_lists}}.dump();
  const std::string output = run_and_capture("/usr/bin/python3 " + (kSourceDir / "tests/compare/scipy_reference.py").string() +
                                             " --cases " + input.string());
  std::filesystem::remove(input);
  const json live = json::parse(output, nullptr, false);
  ASSERT_FALSE(live.is_discarded()) << "the SciPy script printed: " << output;
  ASSERT_EQ(live.at("cases").size(), differences.size());
  int index = 0;
  for (const auto& c : live.at("cases")) check_case(c, "live case " + std::to_string(index++));
  for (const auto& c : live.at("holm")) check_holm(c);
}

}  // namespace
}  // namespace descent::compare
