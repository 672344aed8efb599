#include "descent/compare/comparison.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "descent/compare/stats.hpp"
#include "descent/core/error.hpp"
#include "descent/train/config.hpp"
#include "descent/train/safetensors.hpp"

namespace descent::compare {

namespace {

using nlohmann::json;

json or_null(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

json sample_json(const std::vector<double>& values) {
  const SampleSummary s = summarize(values);
  json ci = s.ci95_low ? json::array({*s.ci95_low, *s.ci95_high}) : json(nullptr);
  return {{"mean", or_null(s.mean)}, {"std", or_null(s.std)}, {"ci95", ci}, {"n", s.n}};
}

std::vector<json> epoch_records(const std::filesystem::path& metrics_path) {
  std::vector<json> records;
  if (!std::filesystem::exists(metrics_path)) return records;
  std::istringstream in(train::read_file_bytes(metrics_path));
  std::string line;
  while (std::getline(in, line)) {
    const json record = json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.is_object() && record.value("kind", "") == "epoch") records.push_back(record);
  }
  return records;
}

bool reaches(double value, const TargetConfig& target) {
  return target.mode == "min" ? value <= target.value : value >= target.value;
}

std::string mode_of(const CompareConfig& config, const std::string& metric) {
  return metric == config.metric ? config.mode : default_mode(metric);
}

}  // namespace

std::vector<std::string> summary_metrics(const CompareConfig& config) {
  std::vector<std::string> metrics{config.metric};
  for (const char* extra : {"val_loss", "val_accuracy"})
    if (config.metric != extra) metrics.push_back(extra);
  return metrics;
}

TrialResult read_trial_result(const CompareConfig& config, const TrialSpec& spec, const TrialOutcome& outcome,
                              const std::filesystem::path& compare_dir) {
  TrialResult r;
  r.setup = spec.setup;
  r.seed = spec.seed;
  r.run_dir = std::filesystem::relative(spec.dir, compare_dir).string();
  r.outcome = outcome;
  if (outcome.status != "ok") return r;
  const std::vector<json> records = epoch_records(spec.dir / "metrics.jsonl");
  if (records.empty()) {
    r.outcome.status = "failed";
    r.outcome.error = "the run folder has no epoch record in metrics.jsonl";
    return r;
  }
  for (const auto& [key, value] : records.back().items())
    if (value.is_number()) r.epoch_keys.push_back(key);
  for (const auto& metric : summary_metrics(config)) {
    const bool minimize = mode_of(config, metric) == "min";
    std::optional<double> best;
    for (const auto& record : records) {
      if (!record.contains(metric) || !record.at(metric).is_number()) continue;
      const double v = record.at(metric).get<double>();
      if (!std::isfinite(v)) continue;
      if (!best || (minimize ? v < *best : v > *best)) best = v;
    }
    const json& last = records.back();
    if (last.contains(metric) && last.at(metric).is_number() && std::isfinite(last.at(metric).get<double>()))
      r.final[metric] = last.at(metric).get<double>();
    if (best) r.best[metric] = *best;
  }
  if (config.target) {
    for (const auto& record : records) {
      if (!record.contains(config.target->metric) || !record.at(config.target->metric).is_number()) continue;
      if (!reaches(record.at(config.target->metric).get<double>(), *config.target)) continue;
      r.steps_to_target = record.value("step", std::int64_t{0});
      if (record.contains("elapsed_s")) r.time_to_target_s = record.at("elapsed_s").get<double>();
      break;
    }
  }
  return r;
}

namespace {

json trial_json(const TrialResult& t) {
  json out = {{"seed", t.seed},
              {"run_dir", t.run_dir},
              {"final", t.final},
              {"best", t.best},
              {"steps_to_target", t.steps_to_target ? json(*t.steps_to_target) : json(nullptr)},
              {"time_to_target_s", or_null(t.time_to_target_s)},
              {"wall_time_s", t.outcome.wall_time_s},
              {"cpu_time_s", t.outcome.cpu_time_s},
              {"peak_rss_mb", t.outcome.peak_rss_mb},
              {"status", t.outcome.status}};
  if (t.outcome.status != "ok") out["error"] = t.outcome.error;
  if (t.outcome.reused) out["reused"] = true;
  return out;
}

// The value the tests compare for one trial: final or best of the compared metric.
std::optional<double> compared_value(const CompareConfig& config, const TrialResult& t) {
  const auto& values = config.at == "best" ? t.best : t.final;
  const auto it = values.find(config.metric);
  if (t.outcome.status != "ok" || it == values.end()) return std::nullopt;
  return it->second;
}

json setup_summary(const CompareConfig& config, const std::vector<const TrialResult*>& trials) {
  json summary = json::object();
  for (const auto& metric : summary_metrics(config)) {
    for (const std::string at : {"final", "best"}) {
      std::vector<double> values;
      for (const TrialResult* t : trials) {
        const auto& source = at == "final" ? t->final : t->best;
        if (t->outcome.status == "ok" && source.contains(metric)) values.push_back(source.at(metric));
      }
      if (!values.empty() || metric == config.metric) summary[at + "_" + metric] = sample_json(values);
    }
  }
  std::vector<double> steps, seconds, wall, cpu, peak;
  for (const TrialResult* t : trials) {
    if (t->outcome.status != "ok") continue;
    if (t->steps_to_target) steps.push_back(double(*t->steps_to_target));
    if (t->time_to_target_s) seconds.push_back(*t->time_to_target_s);
    wall.push_back(t->outcome.wall_time_s);
    cpu.push_back(t->outcome.cpu_time_s);
    peak.push_back(t->outcome.peak_rss_mb);
  }
  if (config.target) {
    summary["steps_to_target"] = sample_json(steps);
    summary["time_to_target_s"] = sample_json(seconds);
  }
  summary["wall_time_s"] = sample_json(wall);
  summary["cpu_time_s"] = sample_json(cpu);
  summary["peak_rss_mb"] = sample_json(peak);
  return summary;
}

}  // namespace

json build_comparison(const CompareConfig& config, const std::vector<TrialResult>& trials) {
  bool metric_seen = false;
  std::vector<std::string> available;
  for (const auto& t : trials) {
    if (t.outcome.status != "ok") continue;
    metric_seen = metric_seen || t.final.contains(config.metric);
    for (const auto& key : t.epoch_keys)
      if ((key.starts_with("val_") || key.starts_with("train_")) && std::find(available.begin(), available.end(), key) == available.end())
        available.push_back(key);
  }
  const bool any_ok = std::any_of(trials.begin(), trials.end(), [](const TrialResult& t) { return t.outcome.status == "ok"; });
  if (any_ok && !metric_seen) {
    std::string list;
    for (const auto& key : available) list += (list.empty() ? "" : ", ") + key;
    throw Error("compare: compare.metric = \"" + config.metric + "\" is in no trial's epoch records; they hold " + list +
                " (fix the metric and run again with --out on the same folder: finished trials are reused)");
  }

  json doc = {{"kind", "comparison"},    {"name", config.name},     {"metric", config.metric},
              {"mode", config.mode},     {"at", config.at},         {"baseline", config.baseline},
              {"seeds", config.seeds},   {"parallel", config.parallel}, {"threads_per_trial", config.threads}};
  doc["target"] = config.target ? json{{"metric", config.target->metric}, {"value", config.target->value}, {"mode", config.target->mode}}
                                : json(nullptr);
  std::map<std::uint64_t, double> baseline_values;
  for (const auto& t : trials)
    if (t.setup == config.baseline)
      if (const auto v = compared_value(config, t)) baseline_values[t.seed] = *v;

  std::vector<std::optional<double>> t_p, w_p;
  doc["setups"] = json::array();
  for (const auto& setup : config.setups) {
    const train::Config resolved = train::parse_config(trial_config(config, setup, config.seeds.front()));
    json entry = {{"name", setup.name}, {"optimizer", {{"name", resolved.optimizer.name}, {"options", resolved.optimizer.options}}}};
    if (resolved.schedule.enabled) entry["schedule"] = resolved.resolved.at("schedule");
    std::vector<const TrialResult*> mine;
    entry["trials"] = json::array();
    for (const auto& t : trials)
      if (t.setup == setup.name) {
        mine.push_back(&t);
        entry["trials"].push_back(trial_json(t));
      }
    entry["summary"] = setup_summary(config, mine);
    entry["versus_baseline"] = nullptr;
    if (setup.name != config.baseline) {
      std::vector<double> differences;
      for (const TrialResult* t : mine)
        if (const auto v = compared_value(config, *t); v && baseline_values.contains(t->seed))
          differences.push_back(*v - baseline_values.at(t->seed));
      const TestResult t_test = paired_t_test(differences);
      const TestResult w_test = wilcoxon_signed_rank(differences);
      const SampleSummary s = summarize(differences);
      entry["versus_baseline"] = {{"metric", config.at + "_" + config.metric}, {"n", differences.size()},
                                  {"differences", differences},  {"mean_difference", or_null(s.mean)},
                                  {"cohens_d", or_null(cohens_d(differences))},
                                  {"t_statistic", or_null(t_test.statistic)}, {"t_p", or_null(t_test.p_value)},
                                  {"wilcoxon_statistic", or_null(w_test.statistic)},
                                  {"wilcoxon_p", or_null(w_test.p_value)}};
      t_p.push_back(t_test.p_value);
      w_p.push_back(w_test.p_value);
    }
    doc["setups"].push_back(entry);
  }
  // Holm over the setups tested against the baseline, separately for each test.
  const auto t_holm = holm_adjust(t_p), w_holm = holm_adjust(w_p);
  std::size_t k = 0;
  for (auto& entry : doc["setups"]) {
    if (entry["versus_baseline"].is_null()) continue;
    entry["versus_baseline"]["t_p_holm"] = or_null(t_holm[k]);
    entry["versus_baseline"]["wilcoxon_p_holm"] = or_null(w_holm[k]);
    ++k;
  }
  return doc;
}

}  // namespace descent::compare
