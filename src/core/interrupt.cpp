#include "descent/core/interrupt.hpp"

#include <signal.h>

#include <atomic>

namespace descent {
namespace {

std::atomic<int> requested{0};

void on_stop_signal(int signal) {
  if (requested.exchange(signal) != 0) {
    // The second request: do what the signal would have done without a handler.
    ::signal(signal, SIG_DFL);
    ::raise(signal);
  }
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() { return requested.load(std::memory_order_relaxed) != 0; }

int stop_signal() { return requested.load(std::memory_order_relaxed); }

}  // namespace descent
