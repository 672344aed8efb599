// parse_config: every section of a training config, validated and resolved.
#include <algorithm>
#include <cctype>
#include <limits>

#include "descent/core/options.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/schedule/factory.hpp"
#include "descent/train/config.hpp"

namespace descent::train {

using TableReader = OptionTable;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Bounds that keep a typo from allocating without end: a layer at most 2^20 wide, at most 10^8
// synthetic samples. What is inside them may still not fit in memory; building then says which section.
constexpr std::int64_t kMaxWidth = std::int64_t(1) << 20;
constexpr std::int64_t kMaxSamples = 100000000;

DataConfig read_data(TableReader r) {
  DataConfig d;
  d.dataset = r.choice("dataset", "linear_regression",
                       {"fashion_mnist", "csv", "linear_regression", "quadratic", "two_moons", "two_spirals"});
  const bool synthetic = d.dataset != "fashion_mnist" && d.dataset != "csv";
  if (synthetic) {
    d.samples = r.integer("samples", d.dataset == "quadratic" ? 10000 : 1000, 10, kMaxSamples);
    d.noise = r.number("noise", d.dataset == "two_spirals" ? 0.02 : 0.1, 0.0, kInf);
  }
  if (d.dataset == "quadratic") d.dims = r.integer("dims", 20, 2, kMaxWidth);
  if (d.dataset == "two_spirals") d.turns = r.number("turns", 1.5, 0.0, kInf, true);
  if (d.dataset == "csv" || d.dataset == "fashion_mnist") d.path = r.text("path", "");
  if (d.dataset == "csv") {
    if (d.path.empty()) throw Error("config: data.path: a csv dataset needs the path of its file");
    d.target = r.name_or_index("target", "-1");
    d.features = r.strings("features", {});
    d.task = r.choice("task", "regression", {"regression", "classification"});
    d.delimiter = r.text("delimiter", ",");
    if (d.delimiter.size() != 1) throw Error("config: data.delimiter = \"" + d.delimiter + "\": expected one character");
    d.header = r.flag("header", true);
  }
  if (d.dataset == "fashion_mnist") {
    d.train_subset = r.integer("train_subset", 0, 0);
    d.test_subset = r.integer("test_subset", 0, 0);
  } else {
    d.test_fraction = r.number("test_fraction", 0.2, 0.0, 0.9, true);
  }
  d.validation_fraction = r.number("validation_fraction", 0.1, 0.0, 0.9, true);
  d.stratify = r.flag("stratify", true);
  d.batch_size = r.integer("batch_size", 32, 1);
  d.eval_batch_size = r.integer("eval_batch_size", 1000, 1);
  d.shuffle = r.flag("shuffle", true);
  d.drop_last = r.flag("drop_last", false);
  d.prefetch = r.integer("prefetch", 2, 0, 64);
  TableReader t = r.table("transforms");
  d.scale = t.choice("scale", "none", {"none", "standardize", "minmax"});
  d.scale_axis = t.choice("scale_axis", "feature", {"feature", "channel", "global"});
  d.augment = t.flag("augment", false);
  d.crop_padding = t.integer("crop_padding", 4, 0, 64);
  d.horizontal_flip = t.flag("horizontal_flip", true);
  t.finish();
  r.finish();
  return d;
}

ModelConfig read_model(TableReader r) {
  ModelConfig m;
  m.type = r.choice("type", "mlp", {"mlp", "cnn", "lstm", "transformer"});
  m.activation = r.choice("activation", "relu", {"relu", "leaky_relu", "gelu", "gelu_tanh", "silu", "tanh", "sigmoid"});
  m.dropout = r.number("dropout", 0.0, 0.0, 1.0);
  if (m.dropout >= 1.0) throw Error("config: model.dropout = 1.0: expected a number in [0, 1)");
  if (m.type == "mlp" || m.type == "cnn") {
    m.hidden = r.integers("hidden", m.type == "mlp" ? std::vector<std::int64_t>{64, 64} : std::vector<std::int64_t>{128}, 1, kMaxWidth);
    m.norm = r.choice("norm", "none", {"none", "batch", "layer"});
  }
  if (m.type == "cnn") {
    m.channels = r.integers("channels", {16, 32}, 1, kMaxWidth);
    if (m.channels.empty()) throw Error("config: model.channels = []: expected at least one convolution");
    m.kernel_size = r.integer("kernel_size", 3, 1, 15);
    if (m.kernel_size % 2 == 0) throw Error("config: model.kernel_size = " + std::to_string(m.kernel_size) + ": expected an odd size (padding keeps the image size)");
  }
  if (m.type == "lstm") {
    m.hidden_size = r.integer("hidden_size", 64, 1, kMaxWidth);
    m.num_layers = r.integer("num_layers", 1, 1, 16);
  }
  if (m.type == "transformer") {
    m.d_model = r.integer("d_model", 64, 1, kMaxWidth);
    m.nhead = r.integer("nhead", 4, 1, kMaxWidth);
    if (m.d_model % m.nhead != 0)
      throw Error("config: model.nhead = " + std::to_string(m.nhead) + ": expected a divisor of model.d_model = " + std::to_string(m.d_model));
    m.dim_feedforward = r.integer("dim_feedforward", 128, 1, kMaxWidth);
    m.num_layers = r.integer("num_layers", 2, 1, 64);
    m.norm_first = r.flag("norm_first", true);
  }
  r.finish();
  return m;
}

// The optimizer's own options are the keys the trainer does not read; they are checked against the
// algorithm's option names here so that a typo gets a suggestion and a path.
OptimizerConfig read_optimizer(TableReader r) {
  OptimizerConfig o;
  o.name = r.choice("name", "sgd", optim::optimizer_names());
  o.no_decay_bias_and_norm = r.flag("no_decay_bias_and_norm", true);
  o.no_decay = r.strings("no_decay", {});
  const json groups = r.any("groups");
  Tensor probe = zeros(Shape{1});
  probe.set_requires_grad(true);
  const json& defaults = optim::optimizer_defaults(o.name);
  std::vector<std::string> option_names{"state_dtype"};  // every optimizer's storage option
  for (const auto& [key, value] : defaults.items()) option_names.push_back(key);
  // The algorithm's options are checked by name here, so that a typo gets a suggestion and the list of
  // valid keys, and by value by the optimizer itself.
  auto take_options = [&](TableReader& t, json& options) {
    for (const auto& key : option_names) {
      if (t.has(key)) options[key] = t.node().at(key);
      t.accept(key);
    }
    t.finish();
    try {
      optim::make_optimizer(o.name, {probe}, options);
    } catch (const Error& e) {
      throw Error("config: " + t.path() + ": " + e.what());
    }
  };
  take_options(r, o.options);
  r.resolved().update(defaults);
  r.resolved().update(o.options);
  if (!groups.is_null()) {
    if (!groups.is_array()) r.fail("groups", "an array of tables");
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const std::string path = "optimizer.groups[" + std::to_string(i) + "]";
      json resolved_group;
      TableReader g(groups[i], "config", path, &resolved_group);
      ParamGroupRule rule;
      rule.match = g.strings("match", {});
      if (rule.match.empty()) g.fail("match", "a non-empty array of name fragments");
      take_options(g, rule.options);
      o.groups.push_back(rule);
    }
  }
  return o;
}

// "auto" counts (the run's length) are checked with a stand-in value; the builder substitutes the real one.
json with_auto_counts(const json& options, std::int64_t stand_in) {
  json out = options;
  for (auto& [key, value] : out.items())
    if (value == "auto") value = stand_in;
  return out;
}

ScheduleConfig read_schedule(TableReader r) {
  ScheduleConfig s;
  s.enabled = true;
  s.name = r.choice("name", "", schedule::schedule_names());
  s.interval = r.choice("interval", "step", {"step", "epoch"});
  s.hyperparameter = r.text("hyperparameter", "lr");
  for (const auto& key : r.unread_keys()) {
    s.options[key] = r.node().at(key);
    r.mark_read(key);
  }
  try {
    schedule::make_schedule(s.name, with_auto_counts(s.options, 1000));
  } catch (const Error& e) {
    throw Error(std::string("config: schedule: ") + e.what());
  }
  r.resolved().update(s.options);
  return s;
}

TransformConfig read_transforms(TableReader r) {
  TransformConfig t;
  auto& p = t.pipeline;
  p.nonfinite_policy = transform::parse_nonfinite_policy(r.choice("nonfinite", "skip", {"skip", "raise"}));
  if (r.has("max_norm")) p.max_norm = r.number("max_norm", 0.0, 0.0, kInf);
  p.norm_type = r.number("norm_type", 2.0, 0.0, kInf, true);
  if (r.has("clip_value")) p.clip_value = r.number("clip_value", 0.0, 0.0, kInf);
  t.accumulation_steps = r.integer("accumulation_steps", 1, 1, 1 << 20);
  if (r.has("loss_scaling")) {
    TableReader s = r.table("loss_scaling");
    transform::GradScalerOptions o;
    o.init_scale = s.number("init_scale", o.init_scale, 0.0, kInf, true);
    o.growth_factor = s.number("growth_factor", o.growth_factor, 1.0, kInf, true);
    o.backoff_factor = s.number("backoff_factor", o.backoff_factor, 0.0, 1.0, true);
    o.growth_interval = s.integer("growth_interval", o.growth_interval, 1);
    o.enabled = s.flag("enabled", true);
    s.finish();
    p.loss_scaling = o;
  }
  if (r.has("percentile_clip")) {
    TableReader s = r.table("percentile_clip");
    transform::PercentileClipOptions o;
    o.percentile = s.number("percentile", o.percentile, 0.0, 100.0, true);
    o.window = s.integer("window", o.window, 1);
    s.finish();
    p.percentile_clip = o;
  }
  if (r.has("agc")) {
    TableReader s = r.table("agc");
    transform::AgcOptions o;
    o.clipping = s.number("clipping", o.clipping, 0.0, kInf, true);
    o.eps = s.number("eps", o.eps, 0.0, kInf);
    s.finish();
    p.agc = o;
  }
  r.finish();
  return t;
}

TrainerConfig read_trainer(TableReader r) {
  TrainerConfig t;
  t.epochs = r.integer("epochs", 10, 1);
  t.max_steps = r.integer("max_steps", 0, 0);
  t.loss = r.choice("loss", "auto", {"auto", "mse", "l1", "huber", "cross_entropy", "nll", "bce_with_logits"});
  t.top_k = r.integer("top_k", 5, 1);
  t.log_every_steps = r.integer("log_every_steps", 50, 1);
  t.progress = r.choice("progress", "auto", {"auto", "bar", "log", "none"});
  t.threads = r.integer("threads", 0, 0, 1024);
  t.precision = r.choice("precision", "fp32", {"fp32", "bf16", "fp16"});
  const std::vector<std::string> modes{"min", "max"};
  if (r.has("early_stopping")) {
    TableReader e = r.table("early_stopping");
    auto& c = t.early_stopping;
    c.enabled = e.flag("enabled", true);
    c.monitor = e.text("monitor", "val_loss");
    c.mode = e.choice("mode", c.monitor.find("loss") != std::string::npos ? "min" : "max", modes);
    c.patience = e.integer("patience", 5, 0);
    c.min_delta = e.number("min_delta", 0.0, 0.0, kInf);
    c.restore_best_weights = e.flag("restore_best_weights", true);
    e.finish();
  }
  TableReader k = r.table("checkpoint");
  auto& c = t.checkpoint;
  c.monitor = k.text("monitor", "val_loss");
  c.mode = k.choice("mode", c.monitor.find("loss") != std::string::npos ? "min" : "max", modes);
  c.save_best = k.flag("save_best", true);
  c.save_last = k.flag("save_last", true);
  c.every_n_steps = k.integer("every_n_steps", 0, 0);
  c.keep = k.integer("keep", 3, 1);
  k.finish();
  if (r.has("plateau")) {
    TableReader p = r.table("plateau");
    t.plateau.enabled = p.flag("enabled", true);
    t.plateau.monitor = p.text("monitor", "val_loss");
    for (const auto& key : p.unread_keys()) {
      t.plateau.options[key] = p.node().at(key);
      p.mark_read(key);
    }
    if (!t.plateau.options.contains("mode"))
      t.plateau.options["mode"] = t.plateau.monitor.find("loss") != std::string::npos ? "min" : "max";
    try {
      schedule::make_schedule("reducelronplateau", t.plateau.options);
    } catch (const Error& e) {
      throw Error(std::string("config: trainer.plateau: ") + e.what());
    }
    p.resolved().update(t.plateau.options);
  }
  r.finish();
  return t;
}

Config read_config(const json& raw);

}  // namespace

Config parse_config(const json& raw) {
  if (!raw.is_object()) throw Error("config: expected a table at the top level, got " + raw.dump());
  try {
    return read_config(raw);
  } catch (const json::exception& e) {  // an option of the wrong JSON type deep in a factory
    throw Error(std::string("config: ") + e.what());
  }
}

bool is_folder_name(const std::string& name, bool spaces) {
  return !name.empty() && name.size() <= 64 && name != "." && name != ".." && name.front() != ' ' && name.back() != ' ' &&
         std::all_of(name.begin(), name.end(), [spaces](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || (spaces && c == ' ');
         });
}

namespace {
Config read_config(const json& raw) {
  Config config;
  json resolved = json::object();
  TableReader top(raw, "config", "", &resolved);
  config.name = top.text("name", "run");
  if (!is_folder_name(config.name, true))
    top.fail("name", "1 to 64 letters, digits, spaces, '-', '_' or '.' (it names the run folder runs/<name>-<time>)");
  config.seed = std::uint64_t(top.integer("seed", 0, 0));
  config.data = read_data(top.table("data"));
  config.model = read_model(top.table("model"));
  config.optimizer = read_optimizer(top.table("optimizer"));
  if (top.has("schedule")) config.schedule = read_schedule(top.table("schedule"));
  config.transforms = read_transforms(top.table("transforms"));
  config.trainer = read_trainer(top.table("trainer"));
  top.finish();
  // float16 gradients underflow without loss scaling: fp16 turns the GradScaler on unless the config
  // sets [transforms.loss_scaling] itself (enabled = false to train without it).
  if (config.trainer.precision == "fp16" && !config.transforms.pipeline.loss_scaling) {
    const transform::GradScalerOptions o;
    config.transforms.pipeline.loss_scaling = o;
    resolved["transforms"]["loss_scaling"] = {{"init_scale", o.init_scale},
                                              {"growth_factor", o.growth_factor},
                                              {"backoff_factor", o.backoff_factor},
                                              {"growth_interval", o.growth_interval},
                                              {"enabled", o.enabled}};
  }
  config.resolved = resolved;
  return config;
}
}  // namespace

Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  json raw = load_toml(path);
  for (const auto& assignment : overrides) apply_override(raw, assignment);
  return parse_config(raw);
}

}  // namespace descent::train
