#pragma once
// A headless Chromium driven over the DevTools protocol (--remote-debugging-pipe): one browser process
// opens every report of a test in turn, which is far cheaper than one `chromium --dump-dom` per page.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace descent::testing {

class HeadlessBrowser {
 public:
  // The Chromium program when it is installed (Debian's `chromium`), else nothing.
  static std::optional<std::filesystem::path> find();

  // Starts the browser with a fresh profile and one page of the given viewport.
  HeadlessBrowser(const std::filesystem::path& program, int width, int height);
  ~HeadlessBrowser();
  HeadlessBrowser(const HeadlessBrowser&) = delete;
  HeadlessBrowser& operator=(const HeadlessBrowser&) = delete;

  // Loads `page` and waits until `ready_expression` (JavaScript) evaluates to a string, which it returns.
  // Throws std::runtime_error when that does not happen within `timeout`.
  std::string open(const std::filesystem::path& page, const std::string& ready_expression,
                   std::chrono::milliseconds timeout);
  // The value of a JavaScript expression in the open page (returned by value).
  nlohmann::json evaluate(const std::string& expression);
  // Writes a PNG of the viewport.
  void screenshot(const std::filesystem::path& png);

 private:
  nlohmann::json call(const std::string& method, const nlohmann::json& params, bool in_page = true);
  nlohmann::json read_message(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int to_browser_ = -1;
  int from_browser_ = -1;
  int next_id_ = 1;
  std::string buffer_;
  std::string session_;
  std::filesystem::path profile_;
};

}  // namespace descent::testing
