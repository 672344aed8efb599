// comparison.csv and the terminal tables, both drawn from the comparison.json document.
#include <cstdio>
#include <set>
#include <sstream>

#include "descent/compare/comparison.hpp"

namespace descent::compare {

namespace {

using nlohmann::json;

const std::vector<std::string> kTestFields{"n", "mean_difference", "cohens_d", "t_statistic", "t_p", "t_p_holm",
                                          "wilcoxon_statistic", "wilcoxon_p", "wilcoxon_p_holm"};

std::string cell(const json& value) { return value.is_null() ? "" : value.dump(); }

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// "0.3312 ± 0.0041", "0.3312" (one trial) or "-" (none).
std::string mean_std(const json& sample) {
  if (sample.is_null() || sample.at("mean").is_null()) return "-";
  std::string text = format("%.4g", sample.at("mean").get<double>());
  if (!sample.at("std").is_null()) text += " ± " + format("%.2g", sample.at("std").get<double>());
  return text;
}

std::string interval(const json& sample) {
  if (sample.is_null() || sample.at("ci95").is_null()) return "-";
  return "[" + format("%.4g", sample.at("ci95")[0].get<double>()) + ", " + format("%.4g", sample.at("ci95")[1].get<double>()) + "]";
}

std::string number(const json& value, const char* pattern) { return value.is_null() ? "-" : format(pattern, value.get<double>()); }

// Display width in terminal columns: UTF-8 continuation bytes take none.
std::size_t width(const std::string& text) {
  std::size_t columns = 0;
  for (unsigned char c : text) columns += (c & 0xC0) != 0x80;
  return columns;
}

std::string render(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], width(row[i]));
    }
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t i = 0; i < rows[r].size(); ++i) {
      const std::string& text = rows[r][i];
      const std::string pad(widths[i] - width(text), ' ');
      line += i == 0 ? text + pad : "  " + pad + text;  // first column left-aligned, numbers right-aligned
    }
    out += line + "\n";
    if (r == 0) out += std::string(width(line), '-') + "\n";
  }
  return out;
}

const json& summary_or_null(const json& setup, const std::string& key) {
  static const json null_value;
  const json& summary = setup.at("summary");
  return summary.contains(key) ? summary.at(key) : null_value;
}

}  // namespace

std::string comparison_csv(const json& comparison) {
  std::vector<std::string> summary_keys;
  std::set<std::string> seen;
  for (const auto& setup : comparison.at("setups"))
    for (const auto& [key, value] : setup.at("summary").items())
      if (seen.insert(key).second) summary_keys.push_back(key);

  std::ostringstream out;
  out << "setup,optimizer,trials_ok,trials_failed";
  for (const auto& key : summary_keys)
    for (const char* part : {"mean", "std", "ci95_low", "ci95_high", "n"}) out << ',' << key << '_' << part;
  for (const auto& field : kTestFields) out << ",versus_baseline_" << field;
  out << '\n';
  for (const auto& setup : comparison.at("setups")) {
    int ok = 0, failed = 0;
    for (const auto& t : setup.at("trials")) (t.at("status") == "ok" ? ok : failed) += 1;
    out << setup.at("name").get<std::string>() << ',' << setup.at("optimizer").at("name").get<std::string>() << ',' << ok << ',' << failed;
    for (const auto& key : summary_keys) {
      const json& s = summary_or_null(setup, key);
      if (s.is_null()) {
        out << ",,,,,";
        continue;
      }
      const bool has_ci = !s.at("ci95").is_null();
      out << ',' << cell(s.at("mean")) << ',' << cell(s.at("std")) << ',' << (has_ci ? cell(s.at("ci95")[0]) : "") << ','
          << (has_ci ? cell(s.at("ci95")[1]) : "") << ',' << cell(s.at("n"));
    }
    const json& versus = setup.at("versus_baseline");
    for (const auto& field : kTestFields) out << ',' << (versus.is_null() ? "" : cell(versus.at(field)));
    out << '\n';
  }
  return out.str();
}

std::string comparison_table(const json& comparison) {
  const std::string metric = comparison.at("metric").get<std::string>();
  const std::string at = comparison.at("at").get<std::string>();
  const bool has_target = !comparison.at("target").is_null();
  // A second metric beside the compared one: val_loss or val_accuracy, whichever the trials have.
  std::string other;
  for (const char* candidate : {"val_accuracy", "val_loss"})
    if (metric != candidate && other.empty())
      for (const auto& setup : comparison.at("setups"))
        if (setup.at("summary").contains(std::string("final_") + candidate)) other = candidate;

  std::vector<std::vector<std::string>> summary{{"setup", "ok", "final " + metric, "95% CI", "best " + metric}};
  if (!other.empty()) summary.front().push_back("final " + other);
  if (has_target) summary.front().insert(summary.front().end(), {"steps to target", "s to target"});
  summary.front().insert(summary.front().end(), {"wall s", "cpu s", "peak MB"});
  for (const auto& setup : comparison.at("setups")) {
    int ok = 0;
    for (const auto& t : setup.at("trials")) ok += t.at("status") == "ok";
    const json& final_metric = summary_or_null(setup, "final_" + metric);
    std::vector<std::string> row{setup.at("name").get<std::string>(), std::to_string(ok) + "/" + std::to_string(setup.at("trials").size()),
                                 mean_std(final_metric), interval(final_metric), mean_std(summary_or_null(setup, "best_" + metric))};
    if (!other.empty()) row.push_back(mean_std(summary_or_null(setup, "final_" + other)));
    if (has_target) {
      const json& steps = summary_or_null(setup, "steps_to_target");
      const std::string reached = " (" + std::to_string(steps.at("n").get<int>()) + "/" + std::to_string(ok) + ")";
      row.push_back(mean_std(steps) + reached);
      row.push_back(mean_std(summary_or_null(setup, "time_to_target_s")));
    }
    row.push_back(mean_std(summary_or_null(setup, "wall_time_s")));
    row.push_back(mean_std(summary_or_null(setup, "cpu_time_s")));
    row.push_back(number(summary_or_null(setup, "peak_rss_mb").value("mean", json()), "%.0f"));
    summary.push_back(row);
  }

  const std::string baseline = comparison.at("baseline").get<std::string>();
  std::vector<std::vector<std::string>> tests{{"vs " + baseline, "pairs", "mean diff (" + at + " " + metric + ")", "Cohen's d",
                                               "t-test p", "Holm", "Wilcoxon p", "Holm"}};
  for (const auto& setup : comparison.at("setups")) {
    const json& v = setup.at("versus_baseline");
    if (v.is_null()) continue;
    tests.push_back({setup.at("name").get<std::string>(), std::to_string(v.at("n").get<int>()), number(v.at("mean_difference"), "%+.4g"),
                     number(v.at("cohens_d"), "%+.2f"), number(v.at("t_p"), "%.3g"), number(v.at("t_p_holm"), "%.3g"),
                     number(v.at("wilcoxon_p"), "%.3g"), number(v.at("wilcoxon_p_holm"), "%.3g")});
  }
  std::string text = render(summary) + "\n" + render(tests);
  text += "(mean ± sample std over seeds; differences are setup - " + baseline + ", paired by seed; " +
          (comparison.at("mode") == "min" ? "lower" : "higher") + " " + metric + " is better";
  if (has_target) {
    const json& target = comparison.at("target");
    text += "; target " + target.at("metric").get<std::string>() + (target.at("mode") == "min" ? " <= " : " >= ") +
            format("%g", target.at("value").get<double>()) + " at an epoch's end, s = training time";
  }
  return text + ")\n";
}

}  // namespace descent::compare
