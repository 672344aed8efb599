#include "descent/tune/settings.hpp"

#include "descent/core/error.hpp"
#include "descent/search/sampler.hpp"
#include "descent/tune/pruner.hpp"
#include "options.hpp"

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
  const std::string where = "tune.pbt";
  detail::check_keys(table, where,
                     {"population", "generations", "interval", "truncation", "perturb_factors", "resample_probability"});
  PbtSettings p;
  p.population = detail::read_int(table, where, "population", p.population, 2);
  p.generations = detail::read_int(table, where, "generations", p.generations, 1);
  p.interval = detail::read_int(table, where, "interval", p.interval, 1);
  p.truncation = detail::read_number(table, where, "truncation", p.truncation, 0.0, 0.5);
  DESCENT_CHECK(p.truncation > 0.0, "tune.pbt.truncation = 0: expected a fraction in (0, 0.5]");
  p.resample_probability = detail::read_number(table, where, "resample_probability", p.resample_probability, 0.0, 1.0);
  if (table.contains("perturb_factors")) {
    const auto& f = table.at("perturb_factors");
    DESCENT_CHECK(f.is_array() && !f.empty(), "tune.pbt.perturb_factors = ", f.dump(), ": expected a non-empty array of positive numbers");
    p.perturb_factors.clear();
    for (const auto& x : f) {
      DESCENT_CHECK(x.is_number() && x.get<double>() > 0, "tune.pbt.perturb_factors = ", f.dump(),
                    ": expected a non-empty array of positive numbers");
      p.perturb_factors.push_back(x.get<double>());
    }
  }
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
  const std::string where = "tune";
  detail::check_keys(t, where, {"name", "metric", "direction", "trials", "parallel", "seed", "stale_after_s", "sampler",
                                "pruner", "pbt", "space"});
  s.name = detail::read_string(t, where, "name", base.name);
  DESCENT_CHECK(!s.name.empty() && s.name.find('/') == std::string::npos, "tune.name = \"", s.name,
                "\": expected a non-empty name without '/'");
  s.metric = detail::read_string(t, where, "metric", "val_loss");
  const std::string default_direction = s.metric.find("loss") != std::string::npos ? "minimize" : "maximize";
  s.direction = search::direction_from_string(detail::read_string(t, where, "direction", default_direction));
  s.trials = detail::read_int(t, where, "trials", s.trials, 1);
  s.parallel = detail::read_int(t, where, "parallel", 0, 0, 1024);
  s.seed = std::uint64_t(detail::read_int(t, where, "seed", 0, 0));
  s.stale_after_s = detail::read_number(t, where, "stale_after_s", s.stale_after_s, 1.0, 1e9);

  DESCENT_CHECK(t.contains("space") && t.at("space").is_object() && !t.at("space").empty(),
                "tune.space: expected at least one parameter, e.g. [tune.space.\"optimizer.lr\"] type = \"float\", "
                "low = 1e-4, high = 0.1, log = true");
  s.space_spec = t.at("space");
  s.space = search::SearchSpace::from_json(s.space_spec);

  json sampler = t.value("sampler", json::object());
  DESCENT_CHECK(sampler.is_object(), "tune.sampler = ", sampler.dump(), ": expected a table with name and options");
  s.sampler = detail::read_string(sampler, "tune.sampler", "name", "tpe");
  sampler.erase("name");
  s.sampler_options = sampler;
  // Unknown samplers or options fail here, before any worker starts.
  search::make_sampler(s.sampler, s.sampler_options, s.direction, s.seed);

  if (t.contains("pruner")) {
    json pruner = t.at("pruner");
    DESCENT_CHECK(pruner.is_object() && pruner.contains("name"), "tune.pruner = ", pruner.dump(),
                  ": expected a table with name (", detail::join(pruner_names()), ") and its options");
    s.pruner = detail::read_string(pruner, "tune.pruner", "name", "");
    pruner.erase("name");
    s.pruner_options = pruner;
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
