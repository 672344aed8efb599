#include "descent/landscape/studies.hpp"

#include <cctype>
#include <cmath>
#include <set>

#include "descent/core/options.hpp"
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
  OptionTable t(table, "config", "sharpness");
  SharpnessOptions options;
  const json runs = t.any("runs");
  options.checkpoint = t.choice("checkpoint", options.checkpoint, {"last", "best"});
  options.samples = t.integer("samples", options.samples, 0, std::int64_t(1) << 40);
  options.hessian.max_iterations = t.integer("hessian_iterations", options.hessian.max_iterations, 1, 1000);
  options.hessian.tolerance = t.number("hessian_tolerance", options.hessian.tolerance, 0.0, OptionTable::kInf);
  options.hessian.epsilon_scale = t.number("hessian_epsilon", options.hessian.epsilon_scale, 0.0, OptionTable::kInf, true);
  options.hessian.seed = std::uint64_t(t.integer("seed", 0, 0, std::int64_t(1) << 53));
  t.finish();
  if (!runs.is_null()) {
    if (!runs.is_array() || runs.empty()) t.fail("runs", "a non-empty array of tables {label, optimizer = {name, ...}}");
    for (std::size_t i = 0; i < runs.size(); ++i) {
      OptionTable run(runs[i], "config", "sharpness.runs[" + std::to_string(i) + "]");
      const std::string label = run.text("label", "");
      const json optimizer = run.any("optimizer");
      run.finish();
      if (label.empty()) run.fail("label", "a non-empty string");
      if (!optimizer.is_object() || !optimizer.contains("name"))
        run.fail("optimizer", "an optimizer table with a name, e.g. optimizer = { name = \"sgd\", lr = 0.1 }");
      options.runs.push_back({label, optimizer});
    }
  } else {
    options.runs = {{"sgd", {{"name", "sgd"}, {"lr", 0.1}}}, {"adam", {{"name", "adam"}, {"lr", 1e-3}}}};
  }
  std::vector<std::string> labels;
  for (const auto& run : options.runs) labels.push_back(run.label);
  check_labels_unique(labels, "sharpness.runs");
  return options;
}

std::vector<RegularizationVariant> parse_regularization(const json& table) {
  OptionTable t(table, "config", "regularization");
  const json given = t.any("variants");
  t.finish();
  if (given.is_null()) {
    const std::string dropout = "model.dropout=0.3", decay = "optimizer.weight_decay=0.001", norm = "model.norm=batch";
    return {{"baseline", {}}, {"dropout", {dropout}}, {"weight_decay", {decay}}, {"batch_norm", {norm}},
            {"combined", {dropout, decay, norm}}};
  }
  if (!given.is_array() || given.empty())
    t.fail("variants", "a non-empty array of tables {name, overrides = [\"key=value\", ..]}");
  std::vector<RegularizationVariant> variants;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < given.size(); ++i) {
    OptionTable variant(given[i], "config", "regularization.variants[" + std::to_string(i) + "]");
    RegularizationVariant v{variant.text("name", ""), variant.strings("overrides", {})};
    variant.finish();
    if (v.name.empty()) variant.fail("name", "a non-empty string");
    for (const auto& o : v.overrides)
      if (o.find('=') == std::string::npos) variant.fail("overrides", "an array of \"key.path=value\" strings");
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
    // Curvature by finite differences of gradients needs steps smaller than a 16-bit rounding of the
    // weights, so it is measured in float32 whatever precision the run trained in.
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
