#pragma once
// Ctrl-C and SIGTERM as a request to stop cleanly: the handler only sets a flag, which long loops (the
// trainer's batch loop) poll; they end at the next safe point, write what they must and return. A second
// signal while the first is pending ends the process at once, as the default action would.
#include "descent/core/error.hpp"

namespace descent {

// Thrown by a command that stopped cleanly on request; the program exits with 128 + signal.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Installs the handlers for SIGINT and SIGTERM (idempotent).
void install_stop_handlers();
// True once SIGINT or SIGTERM arrived after install_stop_handlers().
bool stop_requested();
// The signal that requested the stop (0 when none).
int stop_signal();

}  // namespace descent
