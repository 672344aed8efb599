// The `descent` program: one subcommand per tool (see `descent --help`).
#include <algorithm>
#include <iostream>

#include "command.hpp"
#include "descent/core/error.hpp"

namespace descent::cli {
std::vector<Command>& commands() {
  static std::vector<Command> list;
  return list;
}
int& exit_status() {
  static int status = 0;
  return status;
}
}  // namespace descent::cli

int main(int argc, char** argv) {
  using namespace descent::cli;
  CLI::App app{"descent: train neural networks and study how they are optimized"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "descent 0.1.0");
  auto& list = commands();
  std::sort(list.begin(), list.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  for (auto& command : list) command.setup(*app.add_subcommand(command.name, command.help));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const descent::Error& e) {
    std::cerr << "descent: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "descent: error: " << e.what() << "\n";
    return 1;
  }
  return exit_status();
}
