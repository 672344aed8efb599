#include "descent/tune/settings.hpp"

#include <algorithm>

#include "descent/core/error.hpp"
#include "descent/search/sampler.hpp"
#include "descent/tune/pruner.hpp"
#include "descent/core/options.hpp"

namespace descent::tune {

using nlohmann::json;

namespace {

// Sets `value` at the dotted `key` of `config`, creating tables on the way; a non-table in the way is an
// error naming the key.
void set_dotted(json& config, const std::string& key, const json& value) {
  json* node = &config;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    DESCENT_CHECK(!part.empty(), "tune.space: parameter \"", key, "\": expected a dotted config key such as optimizer.lr");
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    json& child = (*node)[part];
    if (child.is_null()) child = json::object();
    DESCENT_CHECK(child.is_object(), "tune.space: parameter \"", key, "\": ", key.substr(0, dot),
                  " is not a table in the base config");
    node = &child;
    start = dot + 1;
  }
}

PbtSettings read_pbt(const json& table) {
  OptionTable t(table, "config", "tune.pbt");
  PbtSettings p;
  p.population = t.integer("population", p.population, 2);
  p.generations = t.integer("generations", p.generations, 1);
  p.interval = t.integer("interval", p.interval, 1);
  p.truncation = t.number("truncation", p.truncation, 0.0, 0.5, true);
  p.resample_probability = t.number("resample_probability", p.resample_probability, 0.0, 1.0);
  if (const auto factors = t.numbers("perturb_factors")) {
    if (factors->empty() || std::any_of(factors->begin(), factors->end(), [](double f) { return !(f > 0.0); }))
      t.fail("perturb_factors", "a non-empty array of positive numbers");
    p.perturb_factors = *factors;
  }
  t.finish();
  return p;
}

}  // namespace

json trial_raw_config(const json& base, const json& params, const std::string& name) {
  json config = base;
  for (const auto& [key, value] : params.items()) set_dotted(config, key, value);
  config["name"] = name;
  return config;
}

train::Config trial_config(const json& base, const json& params, const std::string& name) {
  return train::parse_config(trial_raw_config(base, params, name));
}

StudySettings read_study_settings(const json& raw) {
  DESCENT_CHECK(raw.is_object() && raw.contains("tune") && raw.at("tune").is_object(),
                "config: no [tune] table: a study config is a training config plus [tune] (see docs/TUNE.md)");
  StudySettings s;
  s.base = raw;
  s.base.erase("tune");
  const train::Config base = train::parse_config(s.base);
  const json& t = raw.at("tune");
  OptionTable r(t, "config", "tune");
  s.name = r.text("name", base.name);
  if (s.name.empty() || s.name.find('/') != std::string::npos) r.fail("name", "a non-empty name without '/'");
  s.metric = r.text("metric", "val_loss");
  const std::string default_direction = s.metric.find("loss") != std::string::npos ? "minimize" : "maximize";
  s.direction = search::direction_from_string(r.choice("direction", default_direction, {"minimize", "maximize"}));
  s.trials = r.integer("trials", s.trials, 1);
  s.parallel = r.integer("parallel", 0, 0, 1024);
  s.seed = std::uint64_t(r.integer("seed", 0, 0));
  s.stale_after_s = r.number("stale_after_s", s.stale_after_s, 1.0, 1e9);
  for (const char* table : {"space", "sampler", "pruner", "pbt"}) r.accept(table);
  r.finish();

  if (!t.contains("space") || !t.at("space").is_object() || t.at("space").empty())
    r.fail("space", "at least one parameter, e.g. [tune.space.\"optimizer.lr\"] type = \"float\", low = 1e-4, "
                    "high = 0.1, log = true");
  s.space_spec = t.at("space");
  s.space = search::SearchSpace::from_json(s.space_spec);

  OptionTable sampler(t.value("sampler", json::object()), "config", "tune.sampler");
  s.sampler = sampler.text("name", "tpe");
  s.sampler_options = json::object();
  for (const auto& key : sampler.unread_keys()) s.sampler_options[key] = sampler.node().at(key);
  // Unknown samplers or options fail here, before any worker starts.
  search::make_sampler(s.sampler, s.sampler_options, s.direction, s.seed);

  if (t.contains("pruner")) {
    OptionTable pruner(t.at("pruner"), "config", "tune.pruner");
    s.pruner = pruner.text("name", "");
    if (s.pruner.empty()) pruner.fail("name", "one of " + join(pruner_names()));
    s.pruner_options = json::object();
    for (const auto& key : pruner.unread_keys()) s.pruner_options[key] = pruner.node().at(key);
    make_pruner(s.pruner, s.pruner_options, base.trainer.epochs);
  }

  if (t.contains("pbt")) {
    s.pbt = read_pbt(t.at("pbt"));
    DESCENT_CHECK(s.pruner.empty(), "tune: [tune.pbt] and [tune.pruner] exclude each other (PBT replaces bad members itself)");
    DESCENT_CHECK(!base.schedule.enabled && !base.trainer.plateau.enabled,
                  "tune.pbt: the base config has a [schedule] or [trainer.plateau]; PBT sets the optimizer's "
                  "hyperparameters itself between generations, so remove them");
    for (const auto& p : s.space.params()) {
      DESCENT_CHECK(p.name.starts_with("optimizer.") && p.type != search::ParamType::categorical && !p.condition,
                    "tune.space.\"", p.name, "\": PBT searches optimizer hyperparameters only (optimizer.<name>, "
                    "float or int, unconditional): weights are copied between members, so the model and data "
                    "must stay the same");
    }
  }

  // The space's keys must be config keys: a trial config built from a draw of the sampler proves it (and the
  // error names the key). Conditional parameters are checked on the draws that activate them.
  auto probe = search::make_sampler("random", json::object(), s.direction, s.seed);
  for (std::int64_t i = 0; i < 4; ++i) {
    const json params = probe->sample(s.space, {}, i);
    try {
      trial_config(s.base, params, s.name);
    } catch (const Error& e) {
      throw Error("tune.space: the base config with " + params.dump() + " is not a valid training config: " + e.what());
    }
  }
  return s;
}

}  // namespace descent::tune
