#pragma once
// ReduceLROnPlateau (PyTorch 2.11 semantics) as a multiplicative factor node.
//
// observe(step, metric) runs PyTorch's step(metrics): the metric is better than the best so far when
//   mode min, rel: metric < best * (1 - threshold)      mode max, rel: metric > best * (1 + threshold)
//   mode min, abs: metric < best - threshold            mode max, abs: metric > best + threshold
// a worse metric counts a bad epoch; in cooldown bad epochs are ignored; after more than `patience` bad
// epochs one reduction is requested and the cooldown restarts.
// value(t, base) applies the requested reductions to `base` the way PyTorch applies them to a group's lr:
// each one is new = max(old * factor, min_lr), kept only when old - new > eps. Since the first reduction
// that is not kept leaves the value unchanged, every later one is not kept either, so the loop stops there.
// Alone, `base` is the group's initial lr and the values are PyTorch's. Placed last in a ChainedScheduler,
// or as a part of a SequentialLR after a warm-up, it multiplies whatever the rest of the composition
// gives. State (best, bad epochs, cooldown, reductions) is explicit JSON and restores exactly.
#include "descent/schedule/schedule.hpp"

namespace descent::schedule {

struct PlateauOptions {
  std::string mode = "min";           // "min" or "max"
  double factor = 0.1;                // in (0, 1)
  std::int64_t patience = 10;         // >= 0
  double threshold = 1e-4;            // >= 0
  std::string threshold_mode = "rel"; // "rel" or "abs"
  std::int64_t cooldown = 0;          // >= 0
  double min_lr = 0.0;                // >= 0
  double eps = 1e-8;                  // >= 0
};

class ReduceLROnPlateau final : public Schedule {
 public:
  explicit ReduceLROnPlateau(PlateauOptions options = {});
  std::string name() const override { return "reducelronplateau"; }
  bool multiplies_in_chain() const override { return true; }
  void observe(std::int64_t step, double metric) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;

  std::int64_t reductions() const { return reductions_; }
  double best() const { return best_; }
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  std::int64_t cooldown_counter() const { return cooldown_counter_; }

 private:
  double compute(std::int64_t step, double base) const override;
  bool is_better(double metric) const;
  PlateauOptions options_;
  double best_;
  std::int64_t num_bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
  std::int64_t reductions_ = 0;
  std::int64_t last_epoch_ = 0;  // PyTorch's last_epoch: the number of metrics observed
};

}  // namespace descent::schedule
