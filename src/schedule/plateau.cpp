#include "descent/schedule/plateau.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "check.hpp"

namespace descent::schedule {

using detail::require;

namespace {
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// JSON has no infinity: the initial best (the worst value for the mode) is saved as a string.
nlohmann::json save_number(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return value;
}

double load_number(const nlohmann::json& value, const char* what) {
  if (value.is_string() && (value == "inf" || value == "-inf")) return value == "inf" ? kInfinity : -kInfinity;
  DESCENT_CHECK(value.is_number(), "reducelronplateau: load_state: '", what, "' = ", value.dump(),
                ": expected a number, \"inf\" or \"-inf\"");
  return value.get<double>();
}

std::int64_t load_count(const nlohmann::json& state, const char* what) {
  DESCENT_CHECK(state.contains(what) && state[what].is_number_integer() && state[what].get<std::int64_t>() >= 0,
                "reducelronplateau: load_state: '", what, "' is ", state.value(what, nlohmann::json()).dump(),
                ": expected an integer >= 0");
  return state[what].get<std::int64_t>();
}
}  // namespace

ReduceLROnPlateau::ReduceLROnPlateau(PlateauOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  require(o.mode == "min" || o.mode == "max", name(), "mode", o.mode, "\"min\" or \"max\"");
  require(o.threshold_mode == "rel" || o.threshold_mode == "abs", name(), "threshold_mode", o.threshold_mode,
          "\"rel\" or \"abs\"");
  require(o.factor > 0.0 && o.factor < 1.0, name(), "factor", o.factor, "a number in (0, 1)");
  require(o.patience >= 0, name(), "patience", o.patience, "an integer >= 0");
  require(o.threshold >= 0.0, name(), "threshold", o.threshold, "a number >= 0");
  require(o.cooldown >= 0, name(), "cooldown", o.cooldown, "an integer >= 0");
  require(o.min_lr >= 0.0, name(), "min_lr", o.min_lr, "a number >= 0");
  require(o.eps >= 0.0, name(), "eps", o.eps, "a number >= 0");
  best_ = o.mode == "min" ? kInfinity : -kInfinity;
}

bool ReduceLROnPlateau::is_better(double metric) const {
  const auto& o = options_;
  if (o.mode == "min") {
    return o.threshold_mode == "rel" ? metric < best_ * (1.0 - o.threshold) : metric < best_ - o.threshold;
  }
  return o.threshold_mode == "rel" ? metric > best_ * (o.threshold + 1.0) : metric > best_ + o.threshold;
}

void ReduceLROnPlateau::observe(std::int64_t, double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience) {
    ++reductions_;
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
}

double ReduceLROnPlateau::compute(std::int64_t, double base) const {
  double value = base;
  for (std::int64_t i = 0; i < reductions_; ++i) {
    const double reduced = std::max(value * options_.factor, options_.min_lr);
    if (!(value - reduced > options_.eps)) break;
    value = reduced;
  }
  return value;
}

nlohmann::json ReduceLROnPlateau::state() const {
  return {{"best", save_number(best_)},          {"num_bad_epochs", num_bad_epochs_},
          {"cooldown_counter", cooldown_counter_}, {"reductions", reductions_},
          {"last_epoch", last_epoch_}};
}

void ReduceLROnPlateau::load_state(const nlohmann::json& state) {
  DESCENT_CHECK(state.is_object() && state.contains("best"), name(), ": load_state got ", state.dump(),
                ": expected an object with best, num_bad_epochs, cooldown_counter, reductions, last_epoch");
  const double best = load_number(state["best"], "best");
  const auto bad = load_count(state, "num_bad_epochs");
  const auto cooldown = load_count(state, "cooldown_counter");
  const auto reductions = load_count(state, "reductions");
  const auto last_epoch = load_count(state, "last_epoch");
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
  reductions_ = reductions;
  last_epoch_ = last_epoch;
}

}  // namespace descent::schedule
