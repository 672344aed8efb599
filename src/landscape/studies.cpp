#include "descent/landscape/studies.hpp"

#include <cctype>
#include <cmath>
#include <set>

#include "descent/landscape/landscape.hpp"
#include "descent/train/metrics.hpp"
#include "descent/train/run.hpp"

namespace descent::landscape {

namespace {

using nlohmann::json;

// A folder name from a label: letters, digits, '-' and '_' kept, anything else becomes '-'.
std::string folder_name(const std::string& label) {
  std::string out;
  for (char ch : label) out += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ? ch : '-';
  return out;
}

void check_keys(const json& table, const std::string& where, const std::vector<std::string>& known) {
  DESCENT_CHECK(table.is_object(), where, ": expected a table, got ", table.dump());
  for (const auto& [key, value] : table.items()) {
    bool found = false;
    for (const auto& k : known) found = found || k == key;
    if (found) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    const std::string suggestion = train::closest_match(key, known);
    throw Error("unknown key " + where + "." + key + (suggestion.empty() ? "" : " (did you mean " + where + "." + suggestion + "?)") +
                "; keys of [" + where + "]: " + list);
  }
}

std::int64_t integer_in(const json& table, const std::string& where, const std::string& key, std::int64_t value,
                        std::int64_t low, std::int64_t high) {
  if (!table.contains(key)) return value;
  const json& v = table[key];
  DESCENT_CHECK(v.is_number_integer() && v.get<std::int64_t>() >= low && v.get<std::int64_t>() <= high, where, ".", key,
                " = ", v.dump(), ": expected an integer in [", low, ", ", high, "]");
  return v.get<std::int64_t>();
}

double positive_number(const json& table, const std::string& where, const std::string& key, double value, bool zero_ok) {
  if (!table.contains(key)) return value;
  const json& v = table[key];
  DESCENT_CHECK(v.is_number() && std::isfinite(v.get<double>()) && (v.get<double>() > 0 || (zero_ok && v.get<double>() == 0)),
                where, ".", key, " = ", v.dump(), ": expected a ", zero_ok ? "non-negative" : "positive", " number");
  return v.get<double>();
}

void check_labels_unique(const std::vector<std::string>& labels, const std::string& where) {
  std::set<std::string> seen;
  for (const auto& label : labels) {
    DESCENT_CHECK(!label.empty(), where, ": a label is empty");
    DESCENT_CHECK(seen.insert(folder_name(label)).second, where, ": label \"", label,
                  "\" is used twice (or names the same folder as another)");
  }
}

// Loss and accuracy of the model's current weights on a whole split, in eval mode.
train::MetricMap evaluate_split(RunModel& run, const std::shared_ptr<data::TensorDataset>& dataset,
                                const std::string& prefix) {
  nn::Module& model = *run.model;
  const bool was_training = model.is_training();
  model.eval();
  train::MetricAccumulator metrics(run.splits.classification, run.config.trainer.top_k);
  {
    NoGradGuard no_grad;
    const auto loader = train::make_eval_loader(dataset, run.config.data);
    for (const auto& batch : loader.epoch(0)) {
      const Tensor output = model.forward(batch.inputs);
      metrics.add(output, batch.targets, run.loss(output, batch.targets).item<double>());
    }
  }
  model.train(was_training);
  return metrics.result(prefix);
}

json final_metrics(RunModel& run) {
  auto metrics = evaluate_split(run, run.splits.train, "train_");
  metrics.merge(evaluate_split(run, run.splits.validation, "val_"));
  json out = json::object();
  for (const char* key : {"train_loss", "val_loss", "train_accuracy", "val_accuracy"})
    out[key] = metrics.contains(key) && std::isfinite(metrics.at(key)) ? json(metrics.at(key)) : json(nullptr);
  return out;
}

json train_one(json raw, const std::string& name, const std::filesystem::path& dir, std::FILE* progress) {
  raw["name"] = name;
  const train::Config config = train::parse_config(raw);
  train::RunOptions options;
  if (progress) {
    options.progress_out = progress;
  } else {
    options.progress = "none";
  }
  if (progress) std::fprintf(progress, "training %s into %s\n", name.c_str(), dir.string().c_str());
  return train::train_run(config, dir, options);
}

}  // namespace

StudyConfig load_study_config(const std::filesystem::path& path, const std::string& table_name,
                              const std::vector<std::string>& overrides) {
  json raw = train::load_toml(path);
  for (const auto& assignment : overrides) train::apply_override(raw, assignment);
  StudyConfig config;
  if (raw.contains(table_name)) {
    config.table = raw[table_name];
    raw.erase(table_name);
  } else {
    config.table = json::object();
  }
  train::parse_config(raw);  // the training part must be a valid training config
  config.base = raw;
  return config;
}

SharpnessOptions parse_sharpness(const json& table) {
  const std::string where = "sharpness";
  check_keys(table, where, {"runs", "checkpoint", "samples", "hessian_iterations", "hessian_tolerance",
                            "hessian_epsilon", "seed"});
  SharpnessOptions options;
  if (table.contains("runs")) {
    DESCENT_CHECK(table["runs"].is_array() && !table["runs"].empty(), "sharpness.runs = ", table["runs"].dump(),
                  ": expected a non-empty array of tables {label, optimizer = {name, ...}}");
    for (const auto& run : table["runs"]) {
      check_keys(run, "sharpness.runs", {"label", "optimizer"});
      DESCENT_CHECK(run.contains("label") && run["label"].is_string(), "sharpness.runs: ", run.dump(),
                    ": expected a string label");
      DESCENT_CHECK(run.contains("optimizer") && run["optimizer"].is_object() && run["optimizer"].contains("name"),
                    "sharpness.runs \"", run["label"].get<std::string>(),
                    "\": expected an optimizer table with a name, e.g. optimizer = { name = \"sgd\", lr = 0.1 }");
      options.runs.push_back({run["label"].get<std::string>(), run["optimizer"]});
    }
  } else {
    options.runs = {{"sgd", {{"name", "sgd"}, {"lr", 0.1}}}, {"adam", {{"name", "adam"}, {"lr", 1e-3}}}};
  }
  std::vector<std::string> labels;
  for (const auto& run : options.runs) labels.push_back(run.label);
  check_labels_unique(labels, "sharpness.runs");
  if (table.contains("checkpoint")) {
    DESCENT_CHECK(table["checkpoint"] == "last" || table["checkpoint"] == "best", "sharpness.checkpoint = ",
                  table["checkpoint"].dump(), ": expected \"last\" or \"best\"");
    options.checkpoint = table["checkpoint"].get<std::string>();
  }
  options.samples = integer_in(table, where, "samples", options.samples, 0, std::int64_t(1) << 40);
  options.hessian.max_iterations = integer_in(table, where, "hessian_iterations", options.hessian.max_iterations, 1, 1000);
  options.hessian.tolerance = positive_number(table, where, "hessian_tolerance", options.hessian.tolerance, true);
  options.hessian.epsilon_scale = positive_number(table, where, "hessian_epsilon", options.hessian.epsilon_scale, false);
  options.hessian.seed = std::uint64_t(integer_in(table, where, "seed", 0, 0, std::int64_t(1) << 53));
  return options;
}

std::vector<RegularizationVariant> parse_regularization(const json& table) {
  check_keys(table, "regularization", {"variants"});
  std::vector<RegularizationVariant> variants;
  if (!table.contains("variants")) {
    const std::string dropout = "model.dropout=0.3", decay = "optimizer.weight_decay=0.001", norm = "model.norm=batch";
    return {{"baseline", {}}, {"dropout", {dropout}}, {"weight_decay", {decay}}, {"batch_norm", {norm}},
            {"combined", {dropout, decay, norm}}};
  }
  DESCENT_CHECK(table["variants"].is_array() && !table["variants"].empty(), "regularization.variants = ",
                table["variants"].dump(), ": expected a non-empty array of tables {name, overrides = [\"key=value\", ..]}");
  std::vector<std::string> names;
  for (const auto& variant : table["variants"]) {
    check_keys(variant, "regularization.variants", {"name", "overrides"});
    DESCENT_CHECK(variant.contains("name") && variant["name"].is_string(), "regularization.variants: ",
                  variant.dump(), ": expected a string name");
    RegularizationVariant v{variant["name"].get<std::string>(), {}};
    if (variant.contains("overrides")) {
      DESCENT_CHECK(variant["overrides"].is_array(), "regularization.variants \"", v.name, "\": overrides = ",
                    variant["overrides"].dump(), ": expected an array of \"key.path=value\" strings");
      for (const auto& o : variant["overrides"]) {
        DESCENT_CHECK(o.is_string() && o.get<std::string>().find('=') != std::string::npos,
                      "regularization.variants \"", v.name, "\": override ", o.dump(),
                      ": expected a \"key.path=value\" string");
        v.overrides.push_back(o.get<std::string>());
      }
    }
    names.push_back(v.name);
    variants.push_back(std::move(v));
  }
  check_labels_unique(names, "regularization.variants");
  return variants;
}

json run_sharpness_study(const StudyConfig& config, const SharpnessOptions& options, const std::filesystem::path& out,
                         std::FILE* progress) {
  std::filesystem::create_directories(out / "runs");
  const std::string study_name = config.base.value("name", std::string("sharpness"));
  json runs = json::array();
  for (const auto& spec : options.runs) {
    json raw = config.base;
    raw["optimizer"] = spec.optimizer;  // everything else (data, model, seed, epochs) stays the same
    const auto relative = std::filesystem::path("runs") / folder_name(spec.label);
    const json summary = train_one(raw, study_name + "-" + spec.label, out / relative, progress);
    RunModel run = load_run_model(out / relative, options.checkpoint);
    const LossProbe probe(*run.splits.train, options.samples, run.config.data.eval_batch_size, run.loss);
    const PowerIterationResult hessian = top_hessian_eigenvalue(*run.model, probe, options.hessian);
    if (progress)
      std::fprintf(progress, "%s: top Hessian eigenvalue %.6g (%zu iterations%s)\n", spec.label.c_str(),
                   hessian.top_eigenvalue, hessian.iterations.size(), hessian.converged ? "" : ", not converged");
    runs.push_back({{"label", spec.label},
                    {"optimizer", spec.optimizer.at("name")},
                    {"optimizer_options", spec.optimizer},
                    {"run_dir", relative.string()},
                    {"top_eigenvalue", hessian.top_eigenvalue},
                    {"hessian", {{"iterations", hessian.iterations}, {"converged", hessian.converged},
                                 {"method", hessian_method_description(hessian, probe.samples())}}},
                    {"final", final_metrics(run)},
                    {"test", summary.value("test", json::object())},
                    {"steps", summary.value("steps", 0)},
                    {"wall_time_s", summary.value("wall_time_s", 0.0)}});
  }
  json result = {{"kind", "sharpness"}, {"name", study_name}, {"checkpoint", options.checkpoint}, {"runs", runs}};
  write_json_atomic(out / "sharpness.json", result);
  return result;
}

json run_regularization_study(const StudyConfig& config, const std::vector<RegularizationVariant>& variants,
                              const std::filesystem::path& out, std::FILE* progress) {
  std::filesystem::create_directories(out / "runs");
  const std::string study_name = config.base.value("name", std::string("regularization"));
  json results = json::array();
  for (const auto& variant : variants) {
    json raw = config.base;
    for (const auto& assignment : variant.overrides) train::apply_override(raw, assignment);
    const auto relative = std::filesystem::path("runs") / folder_name(variant.name);
    const json summary = train_one(raw, study_name + "-" + variant.name, out / relative, progress);
    RunModel run = load_run_model(out / relative, "last");
    const json final = final_metrics(run);
    const auto difference = [&](const char* a, const char* b) {
      return final[a].is_number() && final[b].is_number() ? json(final[a].get<double>() - final[b].get<double>())
                                                          : json(nullptr);
    };
    const json gap = {{"loss", difference("val_loss", "train_loss")},
                      {"accuracy", difference("train_accuracy", "val_accuracy")}};
    if (progress)
      std::fprintf(progress, "%s: train loss %s, val loss %s, gap %s\n", variant.name.c_str(),
                   final["train_loss"].dump().c_str(), final["val_loss"].dump().c_str(), gap["loss"].dump().c_str());
    results.push_back({{"name", variant.name},
                       {"overrides", variant.overrides},
                       {"run_dir", relative.string()},
                       {"final", final},
                       {"gap", gap},
                       {"logged", summary.value("final", json::object())},
                       {"test", summary.value("test", json::object())},
                       {"steps", summary.value("steps", 0)},
                       {"wall_time_s", summary.value("wall_time_s", 0.0)}});
  }
  json result = {{"kind", "regularization"}, {"name", study_name}, {"variants", results}};
  write_json_atomic(out / "regularization.json", result);
  return result;
}

}  // namespace descent::landscape
