#include "descent/schedule/compose.hpp"

#include <algorithm>
#include <sstream>

#include "check.hpp"

namespace descent::schedule {

using detail::require;

namespace {

void require_parts(const std::vector<SchedulePtr>& parts, const std::string& schedule) {
  require(!parts.empty(), schedule, "schedulers", "[]", "a non-empty list of schedules");
  for (std::size_t i = 0; i < parts.size(); ++i) {
    require(parts[i] != nullptr, schedule, "schedulers", "a null schedule at index " + std::to_string(i),
            "a list of schedules");
  }
}

nlohmann::json parts_state(const std::vector<SchedulePtr>& parts) {
  nlohmann::json states = nlohmann::json::array();
  for (const auto& part : parts) states.push_back(part->state());
  return states;
}

void load_parts_state(const std::vector<SchedulePtr>& parts, const nlohmann::json& state,
                      const std::string& schedule) {
  DESCENT_CHECK(state.is_array() && state.size() == parts.size(), schedule, ": load_state got ", state.dump(),
                ": expected an array of ", parts.size(), " states, one per schedule");
  for (std::size_t i = 0; i < parts.size(); ++i) parts[i]->load_state(state[i]);
}

}  // namespace

SequentialLR::SequentialLR(std::vector<SchedulePtr> schedulers, std::vector<std::int64_t> milestones)
    : schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  require_parts(schedulers_, name());
  std::ostringstream shown;
  shown << "[";
  bool increasing = true;
  for (std::size_t i = 0; i < milestones_.size(); ++i) {
    shown << (i ? "," : "") << milestones_[i];
    if (milestones_[i] < 0 || (i > 0 && milestones_[i] <= milestones_[i - 1])) increasing = false;
  }
  shown << "]";
  require(milestones_.size() + 1 == schedulers_.size(), name(), "milestones", shown.str(),
          std::to_string(schedulers_.size() - 1) + " milestones (one fewer than schedulers)");
  require(increasing, name(), "milestones", shown.str(), "strictly increasing steps >= 0");
}

std::size_t SequentialLR::active(std::int64_t step) const {
  return static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), step) -
                                  milestones_.begin());
}

std::int64_t SequentialLR::local_step(std::size_t part, std::int64_t step) const {
  return part == 0 ? step : step - milestones_[part - 1];
}

double SequentialLR::compute(std::int64_t step, double base) const {
  const std::size_t part = active(step);
  if (part == 0) return schedulers_[0]->value(step, base);
  return schedulers_[part]->restarted(local_step(part, step), base);
}

double SequentialLR::chained(std::int64_t step, double current, double base) const {
  const std::size_t part = active(step);
  const std::int64_t local = local_step(part, step);
  if (part > 0 && local == 0) return schedulers_[part]->restarted(0, base);
  return schedulers_[part]->chained(local, current, base);
}

std::optional<double> SequentialLR::compute_momentum(std::int64_t step) const {
  const std::size_t part = active(step);
  return schedulers_[part]->momentum(local_step(part, step));
}

void SequentialLR::observe(std::int64_t step, double metric) {
  DESCENT_CHECK(step >= 0, name(), ": observe at step ", step, ": expected a step >= 0");
  const std::size_t part = active(step);
  schedulers_[part]->observe(local_step(part, step), metric);
}

nlohmann::json SequentialLR::state() const { return parts_state(schedulers_); }
void SequentialLR::load_state(const nlohmann::json& state) { load_parts_state(schedulers_, state, name()); }

ChainedScheduler::ChainedScheduler(std::vector<SchedulePtr> schedulers) : schedulers_(std::move(schedulers)) {
  require_parts(schedulers_, name());
  for (const auto& part : schedulers_) {
    if (const auto* nested = dynamic_cast<const ChainedScheduler*>(part.get()))
      parts_.insert(parts_.end(), nested->parts_.begin(), nested->parts_.end());
    else
      parts_.push_back(part);
  }
}

double ChainedScheduler::stepped(std::int64_t step, double current, double base) const {
  for (const auto& part : parts_)
    if (!part->multiplies_in_chain()) current = part->chained(step, current, base);
  return current;
}

double ChainedScheduler::multiplied(std::int64_t step, double rate) const {
  for (const auto& part : parts_)
    if (part->multiplies_in_chain()) rate = part->value(step, rate);
  return rate;
}

double ChainedScheduler::compute(std::int64_t step, double base) const {
  if (cached_step_ < 0 || step < cached_step_ || base != cached_base_) {  // start again from step 0
    cached_step_ = -1;
    cached_base_ = base;
    cached_rate_ = base;
  }
  while (cached_step_ < step) {
    ++cached_step_;
    cached_rate_ = stepped(cached_step_, cached_rate_, base);
  }
  return multiplied(step, cached_rate_);
}

double ChainedScheduler::chained(std::int64_t step, double current, double base) const {
  return multiplied(step, stepped(step, current, base));
}

std::optional<double> ChainedScheduler::compute_momentum(std::int64_t step) const {
  std::optional<double> momentum;
  for (const auto& part : schedulers_) {
    if (auto cycled = part->momentum(step)) momentum = cycled;
  }
  return momentum;
}

void ChainedScheduler::observe(std::int64_t step, double metric) {
  for (const auto& part : schedulers_) part->observe(step, metric);
}

nlohmann::json ChainedScheduler::state() const { return parts_state(schedulers_); }
void ChainedScheduler::load_state(const nlohmann::json& state) { load_parts_state(schedulers_, state, name()); }

}  // namespace descent::schedule
