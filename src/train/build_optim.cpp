// Optimizer with parameter groups, schedule binding and loss from a Config.
#include "descent/nn/loss.hpp"
#include "descent/schedule/factory.hpp"
#include "descent/train/builders.hpp"

namespace descent::train {

std::unique_ptr<optim::Optimizer> build_optimizer(const OptimizerConfig& c, const nn::Module& model) {
  const auto named = model.named_parameters();
  // Rule groups first, then the default group; each split into decaying and non-decaying parameters.
  std::vector<std::vector<std::pair<std::string, Tensor>>> by_rule(c.groups.size() + 1);
  for (const auto& entry : named) {
    std::size_t rule = c.groups.size();
    for (std::size_t r = 0; r < c.groups.size() && rule == c.groups.size(); ++r)
      for (const auto& fragment : c.groups[r].match)
        if (entry.first.find(fragment) != std::string::npos) rule = r;
    by_rule[rule].push_back(entry);
  }
  DESCENT_CHECK(!named.empty(), "optimizer: the model has no parameters");
  const json& defaults = optim::optimizer_defaults(c.name);
  std::vector<std::pair<std::vector<Tensor>, json>> groups;
  for (std::size_t r = 0; r < by_rule.size(); ++r) {
    json options = c.options;
    if (r < c.groups.size()) options.update(c.groups[r].options);
    // Without weight decay there is nothing to exempt, and one group keeps the update one fused pass.
    const bool decays = options.value("weight_decay", defaults.value("weight_decay", 0.0)) != 0.0;
    std::vector<Tensor> decay, no_decay;
    if (decays) {
      auto split = optim::split_weight_decay(by_rule[r], c.no_decay, c.no_decay_bias_and_norm);
      decay = std::move(split.decay);
      no_decay = std::move(split.no_decay);
    } else {
      for (const auto& entry : by_rule[r]) decay.push_back(entry.second);
    }
    if (!decay.empty()) groups.emplace_back(decay, options);
    if (!no_decay.empty()) {
      json no_decay_options = options;
      no_decay_options["weight_decay"] = 0.0;
      groups.emplace_back(no_decay, no_decay_options);
    }
  }
  auto optimizer = optim::make_optimizer(c.name, groups[0].first, groups[0].second);
  for (std::size_t g = 1; g < groups.size(); ++g) {
    json options = groups[g].second;
    options.erase("state_dtype");  // an optimizer-wide setting, given once at construction
    optimizer->add_param_group(groups[g].first, options);
  }
  return optimizer;
}

std::optional<schedule::ScheduleBinding> build_schedule(const Config& config, const optim::Optimizer& optimizer,
                                                         std::int64_t total_units) {
  const auto& s = config.schedule;
  const auto& plateau = config.trainer.plateau;
  if (!s.enabled && !plateau.enabled) return std::nullopt;
  json options = s.options;
  for (auto& [key, value] : options.items())
    if (value == "auto") value = std::max<std::int64_t>(total_units, 1);
  schedule::SchedulePtr schedule;
  try {
    if (s.enabled && plateau.enabled)
      schedule = schedule::make_schedule(
          "chainedscheduler", {{"schedulers", json::array({json::array({s.name, options}),
                                                           json::array({"reducelronplateau", plateau.options})})}});
    else if (s.enabled)
      schedule = schedule::make_schedule(s.name, options);
    else
      schedule = schedule::make_schedule("reducelronplateau", plateau.options);
  } catch (const Error& e) {
    throw Error(std::string("config: schedule: ") + e.what());
  }
  schedule::ScheduleBinding binding;
  binding.schedule = schedule;
  binding.hyperparameter = s.enabled ? s.hyperparameter : "lr";
  const auto names = optimizer.hyperparameter_names();
  DESCENT_CHECK(std::find(names.begin(), names.end(), binding.hyperparameter) != names.end(),
                "config: schedule.hyperparameter = \"", binding.hyperparameter, "\": optimizer ", optimizer.name(),
                " has no such hyperparameter");
  binding.cycled_momentum_name = std::find(names.begin(), names.end(), "beta1") != names.end() ? "beta1" : "momentum";
  for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g) {
    binding.groups.push_back(g);
    binding.base_values.push_back(optimizer.hyperparameter(g, binding.hyperparameter));
  }
  binding.validate();
  return binding;
}

LossFunction build_loss(const TrainerConfig& c, bool classification) {
  const std::string name = c.loss != "auto" ? c.loss : classification ? "cross_entropy" : "mse";
  if (name == "cross_entropy") return [](const Tensor& out, const Tensor& target) { return nn::cross_entropy(out, target); };
  if (name == "mse") return [](const Tensor& out, const Tensor& target) { return nn::mse_loss(out, target); };
  return [name](const Tensor& out, const Tensor& target) { return nn::loss_by_name(name, out, target); };
}

}  // namespace descent::train
