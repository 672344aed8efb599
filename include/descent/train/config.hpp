#pragma once
// Training configs: TOML files, validated into typed sections. Every key has a default (see
// docs/CONFIG.md); the resolved config (defaults filled in) is what a run folder keeps. Errors name the key
// path, the value and the accepted values; an unknown key is an error with a "did you mean" suggestion.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "descent/transform/pipeline.hpp"

namespace descent::train {

using nlohmann::json;

// TOML text as JSON (tables become objects). Dates and times are rejected. `source` names it in errors.
json parse_toml(std::string_view text, const std::string& source);
// Reads a config file. A relative data.path in it is made absolute against the file's folder, so that
// the resolved config (RUN_DIR/config.toml) works from any working directory.
json load_toml(const std::filesystem::path& path);
// Makes a relative data.path of `config` absolute against `base` (apply_override uses the working
// directory: a path given with --set is typed in a shell).
void anchor_data_path(json& config, const std::filesystem::path& base);
// A JSON object (of objects, arrays, strings, numbers, booleans) as TOML text.
std::string to_toml(const json& config);
// Applies "a.b.c=value" to a raw config: the value is read as a TOML value (number, boolean, "string",
// [array], {inline table}); anything that does not parse as one is taken as a bare string.
void apply_override(json& config, const std::string& assignment);

struct DataConfig {
  std::string dataset;  // fashion_mnist, csv, linear_regression, quadratic, two_moons, two_spirals
  std::int64_t samples = 1000;           // synthetic sets
  double noise = 0.1;
  std::int64_t dims = 20;                // quadratic
  double turns = 1.5;                    // two_spirals
  std::string path;                      // csv file; fashion_mnist folder ("" = the installed one)
  std::string target = "-1";             // csv: column name or index
  std::vector<std::string> features;     // csv: names or indices; empty = all but the target
  std::string task = "regression";       // csv: regression or classification
  std::string delimiter = ",";
  bool header = true;
  std::int64_t train_subset = 0;         // use only the first N training samples (0 = all)
  std::int64_t test_subset = 0;
  double validation_fraction = 0.1;
  double test_fraction = 0.2;            // held out of datasets without their own test split
  bool stratify = true;                  // classification splits keep class proportions
  std::int64_t batch_size = 32;
  std::int64_t eval_batch_size = 1000;
  bool shuffle = true;
  bool drop_last = false;
  std::int64_t prefetch = 2;
  std::string scale = "none";            // none, standardize, minmax (fitted on the training split)
  std::string scale_axis = "feature";    // feature, channel, global
  bool augment = false;                  // random crop + horizontal flip (images)
  std::int64_t crop_padding = 4;
  bool horizontal_flip = true;
};

struct ModelConfig {
  std::string type = "mlp";  // mlp, cnn, lstm, transformer
  std::vector<std::int64_t> hidden{64, 64};
  std::string activation = "relu";
  double dropout = 0.0;
  std::string norm = "none";  // none, batch, layer
  std::vector<std::int64_t> channels{16, 32};  // cnn
  std::int64_t kernel_size = 3;                // cnn
  std::int64_t hidden_size = 64;               // lstm
  std::int64_t num_layers = 1;                 // lstm, transformer
  std::int64_t d_model = 64;                   // transformer
  std::int64_t nhead = 4;
  std::int64_t dim_feedforward = 128;
  bool norm_first = true;
};

// Parameters whose dotted name contains any of `match` form a group with these option overrides.
struct ParamGroupRule {
  std::vector<std::string> match;
  json options = json::object();
};

struct OptimizerConfig {
  std::string name = "sgd";
  json options = json::object();               // the algorithm's options, PyTorch names
  bool no_decay_bias_and_norm = true;          // weight_decay 0 for 1-D tensors (biases, norm weights)
  std::vector<std::string> no_decay;           // and for names containing any of these
  std::vector<ParamGroupRule> groups;
};

struct ScheduleConfig {
  bool enabled = false;
  std::string name;
  json options = json::object();  // "auto" for a count means the run's total steps (or epochs)
  std::string interval = "step";  // step or epoch
  std::string hyperparameter = "lr";
};

struct TransformConfig {
  transform::GradientPipelineOptions pipeline;
  std::int64_t accumulation_steps = 1;
};

struct EarlyStoppingConfig {
  bool enabled = false;
  std::string monitor = "val_loss";
  std::string mode = "min";
  std::int64_t patience = 5;
  double min_delta = 0.0;
  bool restore_best_weights = true;
};

struct CheckpointConfig {
  std::string monitor = "val_loss";
  std::string mode = "min";
  bool save_best = true;
  bool save_last = true;
  std::int64_t every_n_steps = 0;  // 0: at epoch ends only
  std::int64_t keep = 3;           // step checkpoints kept
};

struct PlateauConfig {
  bool enabled = false;
  std::string monitor = "val_loss";
  json options = json::object();  // reducelronplateau options (mode, factor, patience, ...)
};

struct TrainerConfig {
  std::int64_t epochs = 10;
  std::int64_t max_steps = 0;      // 0: no limit besides epochs
  std::string loss = "auto";       // auto (cross_entropy / mse), or a loss name
  std::int64_t top_k = 5;
  std::int64_t log_every_steps = 50;
  std::string progress = "auto";   // auto, bar, log, none
  std::int64_t threads = 0;        // 0: the default
  std::string precision = "fp32";  // fp32, bf16 or fp16 (autocast around forward, loss and backward)
  EarlyStoppingConfig early_stopping;
  CheckpointConfig checkpoint;
  PlateauConfig plateau;
};

struct Config {
  std::string name = "run";
  std::uint64_t seed = 0;
  DataConfig data;
  ModelConfig model;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  TransformConfig transforms;
  TrainerConfig trainer;
  json resolved;  // the whole config with defaults filled in
};

// Validates a raw config and fills the defaults. Throws descent::Error naming the first problem.
Config parse_config(const json& raw);
// A name that is safe as one folder name: 1 to 64 letters, digits, '-', '_' or '.' (and inner spaces
// when `spaces`), not "." or "..".
bool is_folder_name(const std::string& name, bool spaces = false);
// load_toml + overrides + parse_config.
Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});

}  // namespace descent::train
