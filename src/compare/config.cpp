#include "descent/compare/config.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "descent/core/error.hpp"
#include "descent/core/options.hpp"
#include "descent/train/config.hpp"

namespace descent::compare {

namespace {

const std::vector<std::string> kOptimizerStructureKeys{"no_decay_bias_and_norm", "no_decay", "groups"};

std::string metric_name(OptionTable& t, const std::string& key, const std::string& fallback) {
  const std::string metric = t.text(key, fallback);
  if (!metric.starts_with("val_") && !metric.starts_with("train_"))
    t.fail(key, "an epoch metric starting with val_ or train_ (val_loss, val_accuracy, train_loss, ...)");
  return metric;
}

std::vector<std::uint64_t> read_seeds(OptionTable& t, std::uint64_t base_seed) {
  const std::string form = "a count (an integer >= 1) or a list of distinct integers >= 0";
  std::vector<std::uint64_t> seeds;
  const json value = t.any("seeds");
  if (value.is_null() || value.is_number()) {
    const std::int64_t count = value.is_null() ? 3 : t.integer("seeds", 3, 1);
    for (std::int64_t k = 0; k < count; ++k) seeds.push_back(base_seed + std::uint64_t(k));
    return seeds;
  }
  const auto list = value.is_array() && !value.empty() ? t.integers("seeds", {}, 0) : std::vector<std::int64_t>{};
  if (list.empty()) t.fail("seeds", form);
  for (const auto seed : list) {
    if (std::find(seeds.begin(), seeds.end(), std::uint64_t(seed)) != seeds.end()) t.fail("seeds", form);
    seeds.push_back(std::uint64_t(seed));
  }
  return seeds;
}

SetupConfig read_setup(const json& table, std::size_t index) {
  const std::string path = "compare.setups[" + std::to_string(index) + "]";
  if (!table.is_object()) {
    throw Error("config: " + path + " = " + clip_for_message(table.dump()) +
                ": expected a table { name = \"...\", optimizer = { name = \"...\", ... } }");
  }
  OptionTable t(table, "config", path);
  SetupConfig setup;
  setup.name = t.text("name", "");
  const json optimizer = t.any("optimizer");
  const json schedule = t.any("schedule");
  const json transforms = t.any("transforms");
  const json trainer = t.any("trainer");
  t.finish();
  if (!train::is_folder_name(setup.name))
    t.fail("name", "1 to 64 letters, digits, '-', '_' or '.' (it names the trial folders)");
  if (!optimizer.is_null() && !optimizer.is_object()) t.fail("optimizer", "a table");
  if (!transforms.is_null() && !transforms.is_object()) t.fail("transforms", "a table");
  if (!trainer.is_null() && !trainer.is_object()) t.fail("trainer", "a table");
  if (optimizer.is_object() && !optimizer.contains("name"))
    t.table("optimizer").fail("name", "the algorithm's name: a setup's optimizer replaces the base one");
  if (!schedule.is_null() && !schedule.is_object() && schedule != "none") t.fail("schedule", "a schedule table or \"none\"");
  setup.overrides = table;
  setup.overrides.erase("name");
  return setup;
}

// Merges `patch` into `target` key by key (tables recursively, anything else replaced).
void merge_into(json& target, const json& patch) {
  for (const auto& [key, value] : patch.items()) {
    if (value.is_object() && target.contains(key) && target.at(key).is_object())
      merge_into(target[key], value);
    else
      target[key] = value;
  }
}

}  // namespace

std::string default_mode(const std::string& metric) {
  for (const char* lower_is_better : {"loss", "mse", "mae"})
    if (metric.find(lower_is_better) != std::string::npos) return "min";
  return "max";
}

CompareConfig parse_compare_config(const json& raw, const std::string& fallback_name, int cores) {
  DESCENT_CHECK(raw.is_object(), "config: expected a table at the top level");
  DESCENT_CHECK(raw.contains("compare") && raw.at("compare").is_object(),
                "config: no [compare] table: a comparison config is a training config plus [compare] with "
                "[[compare.setups]] (see docs/COMPARE.md)");
  const json& table = raw.at("compare");
  OptionTable t(table, "config", "compare");

  CompareConfig c;
  c.base = raw;
  c.base.erase("compare");
  const std::string given_name = c.base.value("name", std::string());
  c.name = given_name.empty() || given_name == "run" ? fallback_name : given_name;
  if (!train::is_folder_name(c.name, true)) {
    OptionTable(c.base, "config").fail("name", "1 to 64 letters, digits, spaces, '-', '_' or '.' (it names the "
                                               "folder runs/<name>-<time>)");
  }
  const json base_seed_value = c.base.value("seed", json(0));
  const std::uint64_t base_seed = base_seed_value.is_number_integer() && base_seed_value.get<std::int64_t>() >= 0 ? base_seed_value.get<std::uint64_t>() : 0;
  c.seeds = read_seeds(t, base_seed);

  const json setups = t.any("setups");
  if (!setups.is_array() || setups.size() < 2)
    t.fail("setups", "at least two [[compare.setups]] tables, each with a name and an optimizer");
  std::set<std::string> names;
  for (std::size_t i = 0; i < setups.size(); ++i) {
    c.setups.push_back(read_setup(setups[i], i));
    if (!names.insert(c.setups.back().name).second)
      OptionTable(setups[i], "config", "compare.setups[" + std::to_string(i) + "]").fail("name", "a name no other setup has");
  }
  std::vector<std::string> setup_names;
  for (const auto& s : c.setups) setup_names.push_back(s.name);
  c.baseline = t.choice("baseline", c.setups.front().name, setup_names);
  c.metric = metric_name(t, "metric", c.metric);
  c.mode = t.choice("mode", default_mode(c.metric), {"min", "max"});
  c.at = t.choice("at", c.at, {"final", "best"});
  t.accept("target");
  if (t.has("target")) {
    OptionTable target_table = t.table("target");
    TargetConfig target;
    target.metric = metric_name(target_table, "metric", c.metric);
    const auto value = target_table.number("value");
    target.mode = target_table.choice("mode", target.metric == c.metric ? c.mode : default_mode(target.metric), {"min", "max"});
    target_table.finish();
    if (!value || !std::isfinite(*value)) target_table.fail("value", "a finite number");
    target.value = *value;
    c.target = target;
  }
  const std::int64_t parallel = t.integer("parallel", 0, 1);  // 0: as many as the cores allow
  t.finish();

  const int trials = int(c.seeds.size() * c.setups.size());
  cores = std::max(1, cores);
  c.parallel = parallel > 0 ? int(parallel) : std::min(cores, trials);
  const json& trainer = c.base.contains("trainer") ? c.base.at("trainer") : json::object();
  const bool threads_given = trainer.is_object() && trainer.contains("threads") && trainer.at("threads").is_number_integer() &&
                             trainer.at("threads").get<std::int64_t>() > 0;
  c.threads = threads_given ? int(trainer.at("threads").get<std::int64_t>()) : std::max(1, cores / c.parallel);

  c.resolved = {{"seeds", c.seeds}, {"baseline", c.baseline}, {"metric", c.metric}, {"mode", c.mode}, {"at", c.at},
                {"parallel", c.parallel}, {"setups", json::array()}};
  for (const auto& s : c.setups) {
    json setup = s.overrides;
    setup["name"] = s.name;
    c.resolved["setups"].push_back(setup);
  }
  if (c.target) c.resolved["target"] = {{"metric", c.target->metric}, {"value", c.target->value}, {"mode", c.target->mode}};

  // Every setup's training config is checked now, not when its first trial starts.
  for (std::size_t i = 0; i < c.setups.size(); ++i) {
    try {
      train::parse_config(trial_config(c, c.setups[i], c.seeds.front()));
    } catch (const Error& e) {
      throw Error("compare.setups[" + std::to_string(i) + "] (" + c.setups[i].name + "): " + e.what());
    }
  }
  return c;
}

CompareConfig load_compare_config(const std::filesystem::path& path, const std::vector<std::string>& overrides, int cores) {
  json raw = train::load_toml(path);
  for (const auto& assignment : overrides) train::apply_override(raw, assignment);
  return parse_compare_config(raw, path.stem().string(), cores);
}

json trial_config(const CompareConfig& config, const SetupConfig& setup, std::uint64_t seed) {
  json trial = config.base;
  const json& o = setup.overrides;
  if (o.contains("optimizer")) {
    json optimizer = o.at("optimizer");
    if (trial.contains("optimizer") && trial.at("optimizer").is_object())
      for (const auto& key : kOptimizerStructureKeys)
        if (trial.at("optimizer").contains(key) && !optimizer.contains(key)) optimizer[key] = trial.at("optimizer").at(key);
    trial["optimizer"] = optimizer;
  }
  if (o.contains("schedule")) {
    if (o.at("schedule").is_object())
      trial["schedule"] = o.at("schedule");
    else
      trial.erase("schedule");
  }
  for (const auto& key : {"transforms", "trainer"}) {
    if (!o.contains(key)) continue;
    if (!trial.contains(key) || !trial.at(key).is_object()) trial[key] = json::object();
    merge_into(trial[key], o.at(key));
  }
  trial["name"] = config.name + "-" + setup.name + "-seed" + std::to_string(seed);
  trial["seed"] = seed;
  if (!trial.contains("trainer") || !trial.at("trainer").is_object()) trial["trainer"] = json::object();
  if (!o.contains("trainer") || !o.at("trainer").contains("threads")) trial["trainer"]["threads"] = config.threads;
  trial["trainer"]["progress"] = "log";
  return trial;
}

}  // namespace descent::compare
