// Trainer::state / load_state: the whole training state as JSON metadata plus named tensors.
#include "descent/train/trainer.hpp"
#include "descent/core/json_integer.hpp"

namespace descent::train {

namespace {

using nlohmann::json;

json generator_json(const Generator::State& state) {
  return {{"s", state.s}, {"has_spare_normal", state.has_spare_normal}, {"spare_normal", state.spare_normal}};
}

Generator::State generator_state(const json& j) {
  Generator::State state;
  const json& words = j.at("s");
  DESCENT_CHECK(words.is_array() && words.size() == 4, "random generator state: s = ", clip_for_message(words.dump()),
                ": expected 4 unsigned 64-bit integers");
  for (std::size_t i = 0; i < 4; ++i) {
    DESCENT_CHECK(words[i].is_number_unsigned(), "random generator state: s[", i, "] = ", clip_for_message(words[i].dump()),
                  ": expected an unsigned 64-bit integer");
    state.s[i] = words[i].get<std::uint64_t>();
  }
  state.has_spare_normal = j.at("has_spare_normal").get<bool>();
  state.spare_normal = j.at("spare_normal").get<double>();
  return state;
}

TensorMap with_prefix(const std::string& prefix, const TensorMap& tensors) {
  TensorMap out;
  for (const auto& [name, tensor] : tensors) out.emplace(prefix + name, tensor);
  return out;
}

TensorMap strip_prefix(const std::string& prefix, const TensorMap& tensors) {
  TensorMap out;
  for (const auto& [name, tensor] : tensors)
    if (name.starts_with(prefix)) out.emplace(name.substr(prefix.size()), tensor);
  return out;
}

}  // namespace

TrainingState Trainer::state() const {
  DESCENT_CHECK(accumulator_.pending() == 0 && step_batches_ == 0,
                "Trainer::state: called in the middle of an accumulation group (save at a step boundary)");
  TrainingState out;
  json& meta = out.meta;
  meta["position"] = {{"epoch", position_.epoch}, {"batch", position_.batch}, {"step", position_.step},
                      {"finished", position_.finished}};
  const auto optimizer_state = optimizer_->state_dict();
  meta["optimizer"] = optimizer_state.meta;
  for (const auto& [name, tensor] : optimizer_state.tensors) out.tensors.emplace("optimizer." + name, tensor);
  for (const auto& [name, tensor] : model_->state_dict()) out.tensors.emplace("model." + name, tensor);
  meta["schedules"] = json::array();
  for (const auto& [binding, per_epoch] : schedules_) meta["schedules"].push_back(binding.state());
  meta["precision"] = precision_name(options_.precision);
  meta["gradients"] = pipeline_.state_dict();
  meta["accumulation"] = accumulator_.state_dict();
  meta["rng"] = json::object();
  for (const auto& [name, generator] : model_->named_generators()) meta["rng"][name] = generator_json(generator->state());
  meta["epoch_metrics"] = epoch_metrics_.state();
  meta["epoch_counters"] = {{"steps_skipped", epoch_steps_skipped_}, {"skip_streak", skip_streak_}, {"grad_norm_sum", epoch_grad_norm_sum_},
                            {"steps", epoch_steps_}, {"train_seconds", epoch_train_seconds_}};
  meta["history"] = json::array();
  for (const auto& record : history_)
    meta["history"].push_back({{"epoch", record.epoch}, {"step", record.step}, {"metrics", record.metrics}});
  meta["elapsed_s"] = elapsed_seconds();
  meta["callbacks"] = json::object();
  for (const auto& callback : callbacks_) {
    auto state = callback->state();
    meta["callbacks"][callback->name()] = state.meta;
    out.tensors.merge(with_prefix("callback." + callback->name() + ".", state.tensors));
  }
  return out;
}

void Trainer::load_state(const TrainingState& state) {
  const json& meta = state.meta;
  try {
    // A state saved before precisions existed was trained in fp32.
    const std::string precision = meta.contains("precision") ? meta.at("precision").get<std::string>() : "fp32";
    DESCENT_CHECK(precision == precision_name(options_.precision), "the state was trained in precision ", precision,
                  ", this trainer runs ", precision_name(options_.precision),
                  "; resume with the same trainer.precision");
    model_->load_state_dict(strip_prefix("model.", state.tensors));
    optimizer_->load_state_dict({meta.at("optimizer"), strip_prefix("optimizer.", state.tensors)});
    const json& schedules = meta.at("schedules");
    DESCENT_CHECK(schedules.size() == schedules_.size(), "the state holds ", schedules.size(),
                  " schedules, this trainer has ", schedules_.size());
    for (std::size_t i = 0; i < schedules_.size(); ++i) schedules_[i].first.load_state(schedules[i]);
    pipeline_.load_state_dict(meta.at("gradients"));
    accumulator_.load_state_dict(meta.at("accumulation"));
    const auto generators = model_->named_generators();
    DESCENT_CHECK(meta.at("rng").size() == generators.size(), "the state holds ", meta.at("rng").size(),
                  " random generators, this model has ", generators.size());
    for (const auto& [name, generator] : generators) generator->set_state(generator_state(meta.at("rng").at(name)));
    epoch_metrics_.load_state(meta.at("epoch_metrics"));
    const json& counters = meta.at("epoch_counters");
    epoch_steps_skipped_ = json_integer(counters.at("steps_skipped"), "steps_skipped");
    skip_streak_ = counters.contains("skip_streak") ? json_integer(counters.at("skip_streak"), "skip_streak") : 0;
    epoch_grad_norm_sum_ = counters.at("grad_norm_sum").get<double>();
    epoch_steps_ = json_integer(counters.at("steps"), "steps");
    epoch_train_seconds_ = counters.at("train_seconds").get<double>();
    history_.clear();
    for (const json& record : meta.at("history"))
      history_.push_back({json_integer(record.at("epoch"), "epoch"), json_integer(record.at("step"), "step"),
                          record.at("metrics").get<MetricMap>()});
    elapsed_before_ = meta.at("elapsed_s").get<double>();
    const json& position = meta.at("position");
    position_ = {json_integer(position.at("epoch"), "epoch"), json_integer(position.at("batch"), "batch"),
                 json_integer(position.at("step"), "step"), position.at("finished").get<bool>()};
    for (const auto& callback : callbacks_) {
      TrainingState callback_state;
      if (meta.at("callbacks").contains(callback->name())) callback_state.meta = meta.at("callbacks").at(callback->name());
      callback_state.tensors = strip_prefix("callback." + callback->name() + ".", state.tensors);
      callback->load_state(callback_state);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("training state: missing or malformed entry: ") + e.what());
  }
  step_loss_sum_ = 0;
  step_batches_ = step_examples_ = 0;
}

}  // namespace descent::train
