#include "descent/search/trial.hpp"

#include <cmath>

#include "descent/core/error.hpp"

namespace descent::search {

Direction direction_from_string(const std::string& text) {
  if (text == "minimize") return Direction::minimize;
  if (text == "maximize") return Direction::maximize;
  throw Error("direction: got \"" + text + "\", expected \"minimize\" or \"maximize\"");
}

std::string to_string(Direction direction) {
  return direction == Direction::minimize ? "minimize" : "maximize";
}

TrialState trial_state_from_string(const std::string& text) {
  if (text == "running") return TrialState::running;
  if (text == "complete") return TrialState::complete;
  if (text == "pruned") return TrialState::pruned;
  if (text == "failed") return TrialState::failed;
  throw Error("trial state: got \"" + text + "\", expected one of running, complete, pruned, failed");
}

std::string to_string(TrialState state) {
  switch (state) {
    case TrialState::running: return "running";
    case TrialState::complete: return "complete";
    case TrialState::pruned: return "pruned";
    case TrialState::failed: return "failed";
  }
  return "unknown";
}

std::optional<double> observed_loss(const TrialRecord& trial, Direction direction) {
  std::optional<double> value;
  if (trial.state == TrialState::complete) {
    value = trial.value;
  } else if (trial.state == TrialState::pruned && !trial.intermediate.empty()) {
    value = trial.intermediate.back().second;
  }
  if (!value || !std::isfinite(*value)) return std::nullopt;
  return direction == Direction::minimize ? *value : -*value;
}

}  // namespace descent::search
