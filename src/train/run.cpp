#include "descent/train/run.hpp"

#include <cstring>
#include <ctime>
#include <optional>
#include <set>

#include "descent/core/interrupt.hpp"
#include "descent/core/parallel.hpp"
#include "descent/train/builders.hpp"
#include "descent/train/callbacks.hpp"
#include "descent/train/checkpoint.hpp"
#include "descent/train/folder_lock.hpp"

namespace descent::train {

namespace {

using nlohmann::json;

std::unique_ptr<Trainer> build_trainer(const Config& config, const DataSplits& splits) {
  auto model = build_model(config.model, splits.sample_shape, splits.num_outputs, config.seed);
  auto optimizer = build_optimizer(config.optimizer, *model);
  TrainerOptions options;
  options.epochs = config.trainer.epochs;
  options.max_steps = config.trainer.max_steps;
  options.classification = splits.classification;
  options.top_k = config.trainer.top_k;
  options.accumulation_steps = config.transforms.accumulation_steps;
  options.gradients = config.transforms.pipeline;
  options.precision = parse_precision(config.trainer.precision, "trainer.precision");
  return std::make_unique<Trainer>(model, std::move(optimizer), build_loss(config.trainer, splits.classification), options);
}

json summarize(RunSession& s, const std::filesystem::path& run_dir) {
  Trainer& trainer = *s.trainer;
  if (trainer.stop_reason() == "interrupted")
    throw Interrupted("interrupted by " + std::string(strsignal(stop_signal())) + " after step " +
                          std::to_string(trainer.position().step) + "; " + (run_dir / "checkpoints" / "last.safetensors").string() +
                          " holds this point: continue with `descent resume " + run_dir.string() + "`",
                      stop_signal());
  json summary = {{"run_dir", run_dir.string()},
                  {"name", s.config.name},
                  {"steps", trainer.position().step},
                  {"epochs", trainer.history().size()},
                  {"wall_time_s", trainer.elapsed_seconds()},
                  {"stopped", trainer.stop_reason().empty() ? "completed" : trainer.stop_reason()},
                  {"steps_skipped", trainer.gradients().steps_skipped()},
                  {"parameters", trainer.model().parameter_count()}};
  json final_metrics = json::object();
  if (!trainer.history().empty())
    for (const auto& [key, value] : trainer.history().back().metrics)
      if (key.starts_with("val_") || key.starts_with("train_loss") || key.starts_with("train_accuracy")) final_metrics[key] = value;
  summary["final"] = final_metrics;
  // Always present, with null value and epoch when no epoch gave a finite monitored value.
  summary["best"] = {{"monitor", s.config.trainer.checkpoint.monitor},
                     {"value", s.checkpoint->best() ? json(*s.checkpoint->best()) : json()},
                     {"epoch", s.checkpoint->best() ? json(s.checkpoint->best_epoch()) : json()}};
  const auto test_loader = make_eval_loader(s.splits.test, s.config.data);
  summary["test"] = trainer.evaluate(test_loader, "test_");
  write_file_atomic(run_dir / "summary.json", summary.dump(2) + "\n");
  return summary;
}

bool holds_run(const std::filesystem::path& run_dir) {
  return std::filesystem::exists(run_dir / "metrics.jsonl") || std::filesystem::exists(run_dir / "config.toml") ||
         (std::filesystem::is_directory(run_dir / "checkpoints") && !std::filesystem::is_empty(run_dir / "checkpoints"));
}

Config run_config(const std::filesystem::path& run_dir) {
  DESCENT_CHECK(std::filesystem::is_regular_file(run_dir / "config.toml"), "run folder ", run_dir.string(),
                ": no config.toml (is it a folder `descent train` wrote?)");
  return parse_config(load_toml(run_dir / "config.toml"));
}

}  // namespace

RunSession open_run_session(const Config& config, const std::filesystem::path& run_dir, const RunOptions& run_options) {
  // Temporaries of checkpoint or summary writes that a kill interrupted.
  for (const auto& folder : {run_dir, run_dir / "checkpoints"}) remove_stale_temporaries(folder);
  RunSession s;
  s.config = config;
  s.splits = build_datasets(config.data, config.seed);
  s.train_loader = std::make_unique<data::DataLoader>(make_train_loader(s.splits, config.data, config.seed));
  s.validation_loader = std::make_unique<data::DataLoader>(make_eval_loader(s.splits.validation, config.data));
  s.trainer = build_trainer(config, s.splits);
  Trainer& trainer = *s.trainer;

  const std::int64_t batches = s.train_loader->batches_per_epoch();
  const std::int64_t steps_per_epoch = (batches + config.transforms.accumulation_steps - 1) / config.transforms.accumulation_steps;
  std::int64_t total_steps = config.trainer.epochs * steps_per_epoch;
  if (config.trainer.max_steps > 0) total_steps = std::min(total_steps, config.trainer.max_steps);
  const bool per_epoch = config.schedule.enabled && config.schedule.interval == "epoch";
  if (auto binding = build_schedule(config, trainer.optimizer(), per_epoch ? config.trainer.epochs : total_steps))
    trainer.add_schedule(std::move(*binding), per_epoch);

  const auto& t = config.trainer;
  auto metrics_log = std::make_shared<MetricsLogger>(run_dir / "metrics.jsonl", t.log_every_steps);
  trainer.add_callback(metrics_log);
  if (t.plateau.enabled) trainer.add_callback(std::make_shared<PlateauMonitor>(t.plateau.monitor));
  if (t.early_stopping.enabled) trainer.add_callback(std::make_shared<EarlyStopping>(t.early_stopping));
  StringMap metadata{{"config", to_toml(config.resolved)}};
  s.checkpoint = std::make_shared<ModelCheckpoint>(run_dir / "checkpoints", t.checkpoint, metadata,
                                                   [metrics_log] { metrics_log->flush(); });
  trainer.add_callback(s.checkpoint);
  const std::string progress = run_options.progress.value_or(t.progress);
  trainer.add_callback(std::make_shared<ProgressReporter>(ProgressReporter::parse_mode(progress, run_options.progress_out),
                                                          t.log_every_steps, run_options.progress_out));
  return s;
}

json train_run(const Config& config, const std::filesystem::path& run_dir, const RunOptions& options) {
  const FolderLock lock(run_dir, "run folder");
  DESCENT_CHECK(!holds_run(run_dir), "run folder ", run_dir.string(),
                " already holds a run: continue it with `descent resume ", run_dir.string(), "` or pick another --out");
  std::filesystem::create_directories(run_dir);
  write_file_atomic(run_dir / "config.toml", to_toml(config.resolved));
  if (config.trainer.threads > 0) set_num_threads(int(config.trainer.threads));
  RunSession s = open_run_session(config, run_dir, options);
  s.trainer->fit(*s.train_loader, s.validation_loader.get());
  return summarize(s, run_dir);
}

namespace {

// Dotted keys whose values differ between two resolved configs ("trainer.epochs: 12 here, 10 there").
void config_differences(const json& here, const json& there, const std::string& prefix, std::vector<std::string>& out) {
  if (here.is_object() && there.is_object()) {
    std::set<std::string> keys;
    for (const auto& [key, value] : here.items()) keys.insert(key);
    for (const auto& [key, value] : there.items()) keys.insert(key);
    for (const auto& key : keys)
      config_differences(here.contains(key) ? here[key] : json(), there.contains(key) ? there[key] : json(),
                         prefix.empty() ? key : prefix + "." + key, out);
  } else if (here != there) {
    out.push_back(prefix + " (" + clip_for_message(here.is_null() ? "absent" : here.dump()) + " in config.toml, " +
                  clip_for_message(there.is_null() ? "absent" : there.dump()) + " in the checkpoint)");
  }
}

// The config of the newest checkpoint that decodes, if any: what the run was trained with.
std::optional<Config> checkpoint_config(const std::filesystem::path& dir) {
  std::optional<Config> config;
  latest_checkpoint(dir, nullptr, [&](const Checkpoint& c) {
    const auto it = c.metadata.find("config");
    DESCENT_CHECK(it != c.metadata.end(), c.path.string(), ": no config in its metadata");
    config = parse_config(parse_toml(it->second, c.path.string() + " (its config)"));
  });
  return config;
}

}  // namespace

json resume_run(const std::filesystem::path& run_dir, const RunOptions& options) {
  DESCENT_CHECK(std::filesystem::is_directory(run_dir), "run folder ", run_dir.string(), " does not exist");
  const FolderLock lock(run_dir, "run folder");
  // The checkpoints carry the config they were trained with; RUN_DIR/config.toml must agree with it.
  const std::optional<Config> saved = checkpoint_config(run_dir / "checkpoints");
  Config config;
  if (std::filesystem::exists(run_dir / "config.toml")) {
    config = run_config(run_dir);
    if (saved) {
      std::vector<std::string> differences;
      config_differences(config.resolved, saved->resolved, "", differences);
      if (!differences.empty()) {
        std::string list;
        for (std::size_t i = 0; i < differences.size() && i < 8; ++i) list += (i ? "; " : "") + differences[i];
        if (differences.size() > 8) list += "; and " + std::to_string(differences.size() - 8) + " more";
        throw Error("run folder " + run_dir.string() + ": config.toml differs from the config its checkpoints were "
                    "trained with: " + list + ". Restore config.toml (or delete it to resume from the checkpoint's "
                    "config); to train differently, start a new run");
      }
    }
  } else {
    DESCENT_CHECK(saved, "run folder ", run_dir.string(), ": no config.toml and no readable checkpoint (is it a folder `descent train` wrote?)");
    config = *saved;
    write_file_atomic(run_dir / "config.toml", to_toml(config.resolved));
  }
  if (config.trainer.threads > 0) set_num_threads(int(config.trainer.threads));
  RunSession s = open_run_session(config, run_dir, options);
  // A checkpoint that decodes but does not fit this trainer is skipped like a corrupt one; a failed load
  // may have changed part of the session, so the next candidate gets a fresh one.
  std::vector<std::string> refused;
  bool fresh = true;
  auto latest = latest_checkpoint(run_dir / "checkpoints", &refused, [&](const Checkpoint& c) {
    if (!fresh) s = open_run_session(config, run_dir, options);
    fresh = false;
    s.trainer->load_state(c.state);
  });
  for (const auto& reason : refused) std::fprintf(options.progress_out, "descent: skipping %s\n", reason.c_str());
  if (latest) {
    std::fprintf(options.progress_out, "resuming %s from %s (step %lld)\n", run_dir.string().c_str(),
                 latest->path.filename().string().c_str(), static_cast<long long>(latest->step));
  } else {
    if (!fresh) s = open_run_session(config, run_dir, options);
    std::fprintf(options.progress_out, "resuming %s: no checkpoint yet, starting from the beginning\n",
                 run_dir.string().c_str());
  }
  s.trainer->fit(*s.train_loader, s.validation_loader.get());
  return summarize(s, run_dir);
}

json evaluate_run(const std::filesystem::path& run_dir, const std::string& which) {
  const Config config = run_config(run_dir);
  if (config.trainer.threads > 0) set_num_threads(int(config.trainer.threads));
  std::filesystem::path file = which;
  if (which == "best" || which == "last") {
    file = run_dir / "checkpoints" / (which + ".safetensors");
    if (which == "best" && !std::filesystem::exists(file)) file = run_dir / "checkpoints" / "last.safetensors";
  }
  const Checkpoint checkpoint = load_checkpoint(file);
  const DataSplits splits = build_datasets(config.data, config.seed);
  auto trainer = build_trainer(config, splits);
  TensorMap weights;
  for (const auto& [name, tensor] : checkpoint.state.tensors)
    if (name.starts_with("model.")) weights.emplace(name.substr(6), tensor);
  trainer->model().load_state_dict(weights);
  const auto loader = make_eval_loader(splits.test, config.data);
  return {{"run_dir", run_dir.string()},
          {"checkpoint", file.string()},
          {"step", checkpoint.step},
          {"test_examples", splits.test->size()},
          {"test", trainer->evaluate(loader, "test_")}};
}

std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &utc);
  return stamp;
}

std::filesystem::path default_run_dir(const Config& config, const std::filesystem::path& config_path) {
  const std::string name = config.name != "run" ? config.name : config_path.stem().string();
  return std::filesystem::path("runs") / (name + "-" + utc_stamp());
}

}  // namespace descent::train
