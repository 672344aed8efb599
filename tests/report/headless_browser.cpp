#include "headless_browser.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace descent::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string decode_base64(const std::string& text) {
  std::array<int, 256> value{};
  value.fill(-1);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) value[static_cast<unsigned char>(alphabet[i])] = int(i);
  std::string out;
  int bits = 0, collected = 0;
  for (const char c : text) {
    const int v = value[static_cast<unsigned char>(c)];
    if (v < 0) continue;  // '=' padding and line breaks
    bits = (bits << 6) | v;
    collected += 6;
    if (collected >= 8) {
      collected -= 8;
      out += char((bits >> collected) & 0xFF);
    }
  }
  return out;
}

}  // namespace

std::optional<std::filesystem::path> HeadlessBrowser::find() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (::access(candidate, X_OK) == 0) return std::filesystem::path(candidate);
  return std::nullopt;
}

HeadlessBrowser::HeadlessBrowser(const std::filesystem::path& program, int width, int height) {
  // A browser that dies must fail the test with a message, not end the test program with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  char profile_template[] = "/tmp/descent-chromium-XXXXXX";
  if (!::mkdtemp(profile_template)) throw std::runtime_error("cannot create a browser profile folder");
  profile_ = profile_template;
  int to_pipe[2], from_pipe[2];
  if (::pipe(to_pipe) != 0 || ::pipe(from_pipe) != 0) throw std::runtime_error("cannot create the browser pipes");
  const std::vector<std::string> args = {program.string(),
                                         "--headless=new",
                                         "--no-sandbox",
                                         "--disable-gpu",
                                         "--remote-debugging-pipe",
                                         "--no-first-run",
                                         "--user-data-dir=" + profile_.string(),
                                         "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                                         "about:blank"};
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("cannot start the browser");
  if (pid_ == 0) {
    // The protocol's pipe convention: the browser reads commands from fd 3 and writes to fd 4.
    ::dup2(to_pipe[0], 3);
    ::dup2(from_pipe[1], 4);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    for (int fd = 5; fd < 1024; ++fd) ::close(fd);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(to_pipe[0]);
  ::close(from_pipe[1]);
  to_browser_ = to_pipe[1];
  from_browser_ = from_pipe[0];

  const auto target = call("Target.createTarget", {{"url", "about:blank"}}, false);
  const auto attached =
      call("Target.attachToTarget", {{"targetId", target.at("targetId")}, {"flatten", true}}, false);
  session_ = attached.at("sessionId").get<std::string>();
  call("Emulation.setDeviceMetricsOverride",
       {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}});
}

HeadlessBrowser::~HeadlessBrowser() {
  if (pid_ > 0) {
    try {
      call("Browser.close", nlohmann::json::object(), false);
    } catch (...) {
      // The browser may already be gone; it is stopped below either way.
    }
    for (int waited = 0; waited < 50 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  if (to_browser_ >= 0) ::close(to_browser_);
  if (from_browser_ >= 0) ::close(from_browser_);
  std::error_code ignored;
  std::filesystem::remove_all(profile_, ignored);
}

nlohmann::json HeadlessBrowser::read_message(Clock::time_point deadline) {
  for (;;) {
    const auto end = buffer_.find('\0');
    if (end != std::string::npos) {
      auto message = nlohmann::json::parse(buffer_.substr(0, end));
      buffer_.erase(0, end + 1);
      return message;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) throw std::runtime_error("the browser did not answer in time");
    pollfd readable{from_browser_, POLLIN, 0};
    if (::poll(&readable, 1, int(left)) <= 0) continue;
    char chunk[65536];
    const ssize_t got = ::read(from_browser_, chunk, sizeof chunk);
    if (got <= 0) throw std::runtime_error("the browser closed its pipe");
    buffer_.append(chunk, std::size_t(got));
  }
}

nlohmann::json HeadlessBrowser::call(const std::string& method, const nlohmann::json& params, bool in_page) {
  const int id = next_id_++;
  nlohmann::json command = {{"id", id}, {"method", method}, {"params", params}};
  if (in_page) command["sessionId"] = session_;
  const std::string text = command.dump() + '\0';
  for (std::size_t sent = 0; sent < text.size();) {
    const ssize_t wrote = ::write(to_browser_, text.data() + sent, text.size() - sent);
    if (wrote <= 0) throw std::runtime_error("cannot write to the browser");
    sent += std::size_t(wrote);
  }
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto message = read_message(deadline);
    if (!message.contains("id") || message["id"] != id) continue;  // events and other answers
    if (message.contains("error")) throw std::runtime_error(method + ": " + message["error"].dump());
    return message.value("result", nlohmann::json::object());
  }
}

std::string HeadlessBrowser::open(const std::filesystem::path& page, const std::string& ready_expression,
                                  std::chrono::milliseconds timeout) {
  call("Page.navigate", {{"url", "about:blank"}});
  const auto navigated = call("Page.navigate", {{"url", "file://" + std::filesystem::absolute(page).string()}});
  if (navigated.contains("errorText")) throw std::runtime_error("cannot open " + page.string() + ": " + navigated["errorText"].dump());
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    try {
      const auto value = evaluate(ready_expression);
      if (value.is_string()) return value.get<std::string>();
    } catch (const std::runtime_error&) {
      // The page was replaced while the expression ran: try again in the new one.
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("the page " + page.string() + " was not ready within " + std::to_string(timeout.count()) + " ms");
}

nlohmann::json HeadlessBrowser::evaluate(const std::string& expression) {
  const auto result = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
  if (result.contains("exceptionDetails")) throw std::runtime_error("evaluating " + expression + ": " + result["exceptionDetails"].dump());
  return result.at("result").value("value", nlohmann::json());
}

void HeadlessBrowser::screenshot(const std::filesystem::path& png) {
  const auto shot = call("Page.captureScreenshot", {{"format", "png"}});
  std::ofstream out(png, std::ios::binary);
  out << decode_base64(shot.at("data").get<std::string>());
  if (!out.good()) throw std::runtime_error("cannot write " + png.string());
}

}  // namespace descent::testing
