// `descent schedule NAME --steps N`: prints a schedule's values step by step so it can be inspected
// before training (columns step, lr, and momentum when the schedule cycles it).
#include <charconv>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "descent/core/error.hpp"
#include "descent/core/options.hpp"
#include "descent/schedule/factory.hpp"

namespace descent::cli {
namespace {

struct ScheduleArgs {
  std::string name;
  std::int64_t steps = 0;
  double base_lr = 0.1;
  std::vector<std::string> option_pairs;
  std::string options_json;
  std::string metrics_json;
  std::string format = "csv";
};

// "key=value": the value is read as JSON when it parses (3, 0.5, [10,20], true, {"a":1}), else as a string.
nlohmann::json parse_options(const ScheduleArgs& args) {
  nlohmann::json options = nlohmann::json::object();
  if (!args.options_json.empty()) {
    options = nlohmann::json::parse(args.options_json, nullptr, /*allow_exceptions=*/false);
    DESCENT_CHECK(options.is_object(), "schedule: --options '", args.options_json,
                  "' is invalid: expected a JSON object such as '{\"T_max\": 100}'");
  }
  for (const auto& pair : args.option_pairs) {
    const auto equals = pair.find('=');
    DESCENT_CHECK(equals != std::string::npos && equals > 0, "schedule: --option '", pair,
                  "' is invalid: expected key=value, e.g. --option gamma=0.5 or --option milestones=[30,80]");
    const std::string key = pair.substr(0, equals);
    const std::string text = pair.substr(equals + 1);
    auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    options[key] = value.is_discarded() ? nlohmann::json(text) : value;
  }
  return options;
}

// --metrics [m0, m1, ...]: m_i is reported after step i (what a ReduceLROnPlateau reacts to).
std::vector<double> parse_metrics(const std::string& text) {
  if (text.empty()) return {};
  const auto list = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  bool numbers = list.is_array();
  for (const auto& item : list) numbers = numbers && item.is_number();
  DESCENT_CHECK(numbers, "schedule: --metrics '", text,
                "' is invalid: expected a JSON list of numbers, e.g. [1.0,0.9]");
  return list.get<std::vector<double>>();
}

std::string shortest(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

void print_schedule(const ScheduleArgs& args) {
  DESCENT_CHECK(args.steps >= 1, "schedule: --steps ", args.steps, " is invalid: expected an integer >= 1");
  DESCENT_CHECK(args.format == "csv" || args.format == "json", "schedule: --format '", args.format,
                "' is invalid: expected csv or json");
  const auto options = parse_options(args);
  const auto metrics = parse_metrics(args.metrics_json);
  const auto schedule = schedule::make_schedule(args.name, options);
  const bool cycles_momentum = schedule->momentum(0).has_value();

  std::vector<double> rates, momenta;
  for (std::int64_t step = 0; step < args.steps; ++step) {
    rates.push_back(schedule->value(step, args.base_lr));
    if (cycles_momentum) momenta.push_back(schedule->momentum(step).value());
    const auto index = static_cast<std::size_t>(step);
    if (index < metrics.size()) schedule->observe(step, metrics[index]);
  }
  if (args.format == "json") {
    nlohmann::json out = {{"schedule", schedule->name()}, {"options", options}, {"base_lr", args.base_lr},
                          {"steps", args.steps},          {"lr", rates}};
    if (cycles_momentum) out["momentum"] = momenta;
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << (cycles_momentum ? "step,lr,momentum\n" : "step,lr\n");
  for (std::size_t step = 0; step < rates.size(); ++step) {
    std::cout << step << "," << shortest(rates[step]);
    if (cycles_momentum) std::cout << "," << shortest(momenta[step]);
    std::cout << "\n";
  }
}

void setup(CLI::App& sub) {
  auto args = std::make_shared<ScheduleArgs>();
  const std::string names = join(schedule::schedule_names());
  sub.add_option("name", args->name, "schedule name (" + names + ")")->required();
  sub.add_option("--steps", args->steps, "number of steps to print")->required();
  sub.add_option("--base-lr", args->base_lr, "base value the schedule scales (the optimizer's lr)")
      ->default_val(0.1);
  sub.add_option("--option", args->option_pairs,
                 "schedule option key=value (repeatable); values are JSON when they parse: "
                 "gamma=0.5, milestones=[30,80], three_phase=true, mode=triangular2")
      ->allow_extra_args(false);  // one pair per --option, so a following positional stays positional
  sub.add_option("--options", args->options_json, "all options as one JSON object ('--option' entries override)");
  sub.add_option("--metrics", args->metrics_json,
                 "JSON list of metrics, the i-th reported after step i (drives reducelronplateau)");
  sub.add_option("--format", args->format, "csv or json")->default_val("csv");
  sub.callback([args] { print_schedule(*args); });
}

RegisterCommand registration{"schedule", "print a learning-rate (and momentum) schedule step by step", setup};

}  // namespace
}  // namespace descent::cli
