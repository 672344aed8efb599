#include "descent/compare/config.hpp"

#include <algorithm>
#include <set>

#include "descent/core/error.hpp"
#include "descent/train/config.hpp"

namespace descent::compare {

namespace {

const std::vector<std::string> kCompareKeys{"seeds", "setups", "baseline", "metric", "mode", "at", "target", "parallel"};
const std::vector<std::string> kSetupKeys{"name", "optimizer", "schedule", "transforms", "trainer"};
const std::vector<std::string> kTargetKeys{"metric", "value", "mode"};
const std::vector<std::string> kOptimizerStructureKeys{"no_decay_bias_and_norm", "no_decay", "groups"};

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

void reject_unknown_keys(const json& table, const std::vector<std::string>& known, const std::string& path) {
  for (const auto& [key, value] : table.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string suggestion = train::closest_match(key, known);
    throw Error("config: unknown key " + path + "." + key + (suggestion.empty() ? "" : " (did you mean " + path + "." + suggestion + "?)") +
                "; keys of [" + path + "]: " + join(known));
  }
}

[[noreturn]] void fail(const std::string& path, const json& value, const std::string& expected) {
  throw Error("config: " + path + " = " + clip_for_message(value.dump()) + ": expected " + expected);
}

std::int64_t positive_integer(const json& value, const std::string& path) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 1) fail(path, value, "an integer >= 1");
  return value.get<std::int64_t>();
}

std::string string_of(const json& value, const std::string& path, const std::vector<std::string>& accepted = {}) {
  if (!value.is_string()) fail(path, value, accepted.empty() ? "a string" : "one of " + join(accepted));
  const std::string text = value.get<std::string>();
  if (!accepted.empty() && std::find(accepted.begin(), accepted.end(), text) == accepted.end())
    fail(path, value, "one of " + join(accepted));
  return text;
}

std::string metric_name(const json& value, const std::string& path) {
  const std::string metric = string_of(value, path);
  if (!metric.starts_with("val_") && !metric.starts_with("train_"))
    fail(path, value, "an epoch metric starting with val_ or train_ (val_loss, val_accuracy, train_loss, ...)");
  return metric;
}

std::vector<std::uint64_t> read_seeds(const json& value, std::uint64_t base_seed) {
  std::vector<std::uint64_t> seeds;
  if (value.is_number_integer()) {
    const std::int64_t count = positive_integer(value, "compare.seeds");
    for (std::int64_t k = 0; k < count; ++k) seeds.push_back(base_seed + std::uint64_t(k));
    return seeds;
  }
  if (!value.is_array() || value.empty()) fail("compare.seeds", value, "a count (integer >= 1) or a list of distinct seeds");
  for (const auto& seed : value) {
    if (!seed.is_number_integer() || seed.get<std::int64_t>() < 0)
      fail("compare.seeds", value, "a list of integers >= 0");
    const auto s = seed.get<std::uint64_t>();
    if (std::find(seeds.begin(), seeds.end(), s) != seeds.end()) fail("compare.seeds", value, "distinct seeds");
    seeds.push_back(s);
  }
  return seeds;
}

SetupConfig read_setup(const json& table, std::size_t index) {
  const std::string path = "compare.setups[" + std::to_string(index) + "]";
  if (!table.is_object()) fail(path, table, "a table { name = \"...\", optimizer = { name = \"...\", ... } }");
  reject_unknown_keys(table, kSetupKeys, path);
  if (!table.contains("name")) throw Error("config: " + path + " has no name: every setup needs name = \"...\"");
  SetupConfig setup;
  setup.name = string_of(table.at("name"), path + ".name");
  if (!train::is_folder_name(setup.name))
    fail(path + ".name", table.at("name"), "1 to 64 letters, digits, '-', '_' or '.' (it names the trial folders)");
  for (const auto& key : {"optimizer", "transforms", "trainer"})
    if (table.contains(key) && !table.at(key).is_object()) fail(path + "." + key, table.at(key), "a table");
  if (table.contains("optimizer") && !table.at("optimizer").contains("name"))
    throw Error("config: " + path + ".optimizer has no name: a setup's optimizer replaces the base one, so it names the algorithm");
  if (table.contains("schedule") && !table.at("schedule").is_object() && table.at("schedule") != "none")
    fail(path + ".schedule", table.at("schedule"), "a schedule table or \"none\"");
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
  reject_unknown_keys(table, kCompareKeys, "compare");

  CompareConfig c;
  c.base = raw;
  c.base.erase("compare");
  const std::string given_name = c.base.value("name", std::string());
  c.name = given_name.empty() || given_name == "run" ? fallback_name : given_name;
  if (!train::is_folder_name(c.name, true))
    fail("name", c.base.contains("name") ? c.base.at("name") : json(c.name),
         "1 to 64 letters, digits, spaces, '-', '_' or '.' (it names the folder runs/<name>-<time>)");
  const json base_seed_value = c.base.value("seed", json(0));
  const std::uint64_t base_seed = base_seed_value.is_number_integer() && base_seed_value.get<std::int64_t>() >= 0 ? base_seed_value.get<std::uint64_t>() : 0;
  c.seeds = read_seeds(table.value("seeds", json(3)), base_seed);

  if (!table.contains("setups") || !table.at("setups").is_array() || table.at("setups").size() < 2)
    throw Error("config: compare.setups: expected at least two [[compare.setups]] tables, each with a name and an optimizer");
  std::set<std::string> names;
  for (std::size_t i = 0; i < table.at("setups").size(); ++i) {
    c.setups.push_back(read_setup(table.at("setups")[i], i));
    DESCENT_CHECK(names.insert(c.setups.back().name).second, "config: compare.setups[", i, "].name = \"",
                  c.setups.back().name, "\": expected a name no other setup has");
  }
  std::vector<std::string> setup_names;
  for (const auto& s : c.setups) setup_names.push_back(s.name);
  c.baseline = table.contains("baseline") ? string_of(table.at("baseline"), "compare.baseline", setup_names) : c.setups.front().name;

  if (table.contains("metric")) c.metric = metric_name(table.at("metric"), "compare.metric");
  c.mode = table.contains("mode") ? string_of(table.at("mode"), "compare.mode", {"min", "max"}) : default_mode(c.metric);
  if (table.contains("at")) c.at = string_of(table.at("at"), "compare.at", {"final", "best"});
  if (table.contains("target")) {
    const json& t = table.at("target");
    if (!t.is_object()) fail("compare.target", t, "a table { metric = \"val_accuracy\", value = 0.85 }");
    reject_unknown_keys(t, kTargetKeys, "compare.target");
    TargetConfig target;
    target.metric = t.contains("metric") ? metric_name(t.at("metric"), "compare.target.metric") : c.metric;
    if (!t.contains("value") || !t.at("value").is_number()) fail("compare.target.value", t.value("value", json()), "a number");
    target.value = t.at("value").get<double>();
    target.mode = t.contains("mode") ? string_of(t.at("mode"), "compare.target.mode", {"min", "max"})
                  : target.metric == c.metric ? c.mode : default_mode(target.metric);
    c.target = target;
  }

  const int trials = int(c.seeds.size() * c.setups.size());
  cores = std::max(1, cores);
  c.parallel = table.contains("parallel") ? int(positive_integer(table.at("parallel"), "compare.parallel")) : std::min(cores, trials);
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
