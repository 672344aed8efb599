#pragma once
// What a sampler knows about a study: the direction of the objective and every trial so far.
// The tune layer stores these records (SQLite) and hands the whole history to Sampler::sample.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace descent::search {

enum class Direction { minimize, maximize };
enum class TrialState { running, complete, pruned, failed };

// "minimize" / "maximize"; anything else is a descent::Error naming the value.
Direction direction_from_string(const std::string& text);
std::string to_string(Direction direction);
// "running" / "complete" / "pruned" / "failed".
TrialState trial_state_from_string(const std::string& text);
std::string to_string(TrialState state);

struct TrialRecord {
  std::int64_t number = 0;
  TrialState state = TrialState::running;
  nlohmann::json params = nlohmann::json::object();  // name -> value (number, or the categorical choice)
  std::optional<double> value;                        // final objective (complete trials)
  std::vector<std::pair<std::int64_t, double>> intermediate;  // (step or epoch, value)
};

// The value a model-based sampler (TPE, GP) learns from, oriented so that smaller is better:
// a complete trial's value; a pruned trial's last intermediate value (it stopped there because it
// looked bad, which is information worth keeping); nothing for running or failed trials, or for a
// pruned trial without intermediate values. Non-finite values are dropped too.
std::optional<double> observed_loss(const TrialRecord& trial, Direction direction);

}  // namespace descent::search
