#pragma once
// Subcommands of the `descent` program register themselves here; main.cpp builds the CLI from the list.
// A command file defines:   static descent::cli::RegisterCommand reg{"name", "one-line help", setup};
// A name with a space ("bench step") registers a nested subcommand under its group ("bench").
// where setup(CLI::App& sub) adds the options and sets sub.callback(...). Callbacks report user errors by
// throwing descent::Error; main prints the message on one line and exits with status 1.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace descent::cli {

struct Command {
  std::string name;
  std::string help;
  std::function<void(CLI::App&)> setup;
};

std::vector<Command>& commands();

struct RegisterCommand {
  RegisterCommand(std::string name, std::string help, std::function<void(CLI::App&)> setup) {
    commands().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

// A check for options that must be greater than zero. CLI11's PositiveNumber describes a rejected 0 as
// "not in range 0.000000 to 1.79...e308"; this one says what the option wants.
inline CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        double number = 0;
        if (CLI::detail::lexical_cast(value, number) && number > 0) return {};
        return "expected a number greater than 0, got '" + value + "'";
      },
      "POSITIVE");
}

// Exit status a callback may request (for example `vectors` when a case fails).
int& exit_status();

// After `train` or `resume`: warns on stderr about skipped steps and divergence, and sets exit status 3
// when the run diverged (its folder is complete; see Trainer::weights_finite).
void report_run_outcome(const std::string& summary_json);

}  // namespace descent::cli
