#pragma once
// The `[tune]` table of a study config: a normal training config plus
//
//   [tune]
//   name = "lr-study"          # default: the config's name
//   metric = "val_loss"        # any epoch-record key; the trial's value is its last epoch's value
//   direction = "minimize"     # default: minimize for a *loss* metric, else maximize
//   trials = 20                # trials that count towards the study (complete, pruned or failed)
//   parallel = 0               # worker processes (0: one per core)
//   seed = 0                   # the sampler's seed
//   stale_after_s = 120        # a running trial whose heartbeat is older is re-queued
//   [tune.sampler]  name = "tpe", other keys are the sampler's options (search/sampler.hpp)
//   [tune.pruner]   name = "median" | "successive_halving" | "asha" | "hyperband", other keys its options
//   [tune.pbt]      population-based training instead of independent trials (PbtSettings)
//   [tune.space."optimizer.lr"]  type = "float", low = 1e-4, high = 0.1, log = true   (search/space.hpp)
//
// Every trial's config is the base config with each sampled dotted key set, then validated as a
// training config: a key that is not a config key is an error naming it.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "descent/search/space.hpp"
#include "descent/search/trial.hpp"
#include "descent/train/config.hpp"

namespace descent::tune {

// Population-based training (Jaderberg et al. 2017): `population` members train `interval` epochs per
// generation for `generations` generations. After each generation the bottom `truncation` fraction copies
// the weights and optimizer state of a member of the top fraction and perturbs its hyperparameters: each
// is resampled from the space with `resample_probability`, else multiplied by one of `perturb_factors`
// (clamped to the space). Only optimizer hyperparameters (optimizer.<name>, float or int) can be searched.
struct PbtSettings {
  std::int64_t population = 8;
  std::int64_t generations = 4;
  std::int64_t interval = 1;  // epochs per generation
  double truncation = 0.25;
  std::vector<double> perturb_factors{0.8, 1.2};
  double resample_probability = 0.25;
};

struct StudySettings {
  std::string name;
  std::string metric = "val_loss";
  search::Direction direction = search::Direction::minimize;
  std::int64_t trials = 20;
  std::int64_t parallel = 0;
  std::uint64_t seed = 0;
  double stale_after_s = 120;
  std::string sampler = "tpe";
  nlohmann::json sampler_options = nlohmann::json::object();
  std::string pruner;  // empty: none
  nlohmann::json pruner_options = nlohmann::json::object();
  std::optional<PbtSettings> pbt;
  nlohmann::json space_spec = nlohmann::json::object();
  search::SearchSpace space;
  nlohmann::json base = nlohmann::json::object();  // the training config without [tune]
};

// Reads and validates the [tune] table of a raw config (parse_toml's JSON); the base config is checked too
// (parse_config). Errors name the key, the value and what is expected.
StudySettings read_study_settings(const nlohmann::json& raw);

// The base config with `params` set at their dotted keys, named `name`, validated.
train::Config trial_config(const nlohmann::json& base, const nlohmann::json& params, const std::string& name);
// The raw JSON form of the same (what best.toml holds).
nlohmann::json trial_raw_config(const nlohmann::json& base, const nlohmann::json& params, const std::string& name);

}  // namespace descent::tune
