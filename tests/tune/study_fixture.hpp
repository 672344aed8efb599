#pragma once
// Helpers of the tune tests: scratch folders, a tiny synthetic study config, and the program started
// in the background (so a test can kill it).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace descent::tune::testing {

inline std::filesystem::path scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("descent-tune-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A regression MLP on linear_regression: each trial takes milliseconds per epoch.
inline std::string tiny_base(int samples = 200, int epochs = 3) {
  return "name = \"tiny\"\nseed = 0\n[data]\ndataset = \"linear_regression\"\nsamples = " + std::to_string(samples) +
         "\nbatch_size = 32\nprefetch = 0\n[model]\ntype = \"mlp\"\nhidden = [8]\n[optimizer]\nname = \"sgd\"\nlr = 0.01\n"
         "[trainer]\nprogress = \"none\"\nepochs = " + std::to_string(epochs) + "\n";
}

inline std::filesystem::path write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// Starts `descent ARGS...` with its output to `log`; returns its pid.
inline pid_t start_descent(const std::vector<std::string>& args, const std::filesystem::path& log) {
  const std::string program = std::string(DESCENT_BINARY_DIR) + "/descent";
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::FILE* out = std::freopen(log.c_str(), "w", stdout);
    if (out == nullptr) ::_exit(126);
    ::dup2(::fileno(stdout), 2);
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

inline int wait_exit_status(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace descent::tune::testing
