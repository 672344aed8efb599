// The `descent` program: one subcommand per tool (see `descent --help`).
#include <algorithm>
#include <csignal>
#include <new>
#include <iostream>

#include "command.hpp"
#include "descent/core/interrupt.hpp"

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
  // A file-size limit makes write() fail with EFBIG, reported with the file's name, instead of killing.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"descent: train neural networks and study how they are optimized"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "descent 0.1.0");
  auto& list = commands();
  std::sort(list.begin(), list.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  for (auto& command : list) {
    const auto space = command.name.find(' ');
    CLI::App* parent = &app;
    std::string name = command.name;
    if (space != std::string::npos) {
      const std::string group = command.name.substr(0, space);
      name = command.name.substr(space + 1);
      parent = nullptr;
      for (CLI::App* existing : app.get_subcommands({}))
        if (existing->get_name() == group) parent = existing;
      if (parent == nullptr) {
        parent = app.add_subcommand(group, group + " subcommands");
        parent->require_subcommand(1);
      }
    }
    command.setup(*parent->add_subcommand(name, command.help));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const descent::Interrupted& e) {
    std::cerr << "descent: " << e.what() << "\n";
    return 128 + e.signal();
  } catch (const descent::Error& e) {
    std::cerr << "descent: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "descent: error: out of memory (a size in the config or the data may be too large)\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "descent: error: " << e.what() << "\n";
    return 1;
  }
  return exit_status();
}
