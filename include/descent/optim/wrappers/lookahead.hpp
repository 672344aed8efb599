#pragma once
// Lookahead over any optimizer (Zhang et al. 2019, "Lookahead Optimizer: k steps forward, 1 step back").
//
//   every step:        the inner optimizer updates the fast weights p
//   every k-th step:   slow <- slow + alpha * (p - slow);   p <- slow
// The slow weights start as a copy of the parameters at construction (the paper's and optax's choice;
// timm instead copies them at the first synchronisation, which makes that first one a no-op). The slow
// weights follow the parameters of the inner optimizer's groups at construction; groups added to the
// inner optimizer later are not tracked.
#include <functional>
#include <memory>
#include <vector>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

class Lookahead {
 public:
  // k >= 1 inner steps per synchronisation, 0 <= alpha <= 1; Errors name the bad value otherwise.
  Lookahead(std::unique_ptr<Optimizer> inner, std::int64_t k = 5, double alpha = 0.5);

  void step();
  double step(const std::function<double()>& closure);  // the inner step(closure), then synchronisation
  void zero_grad() { inner_->zero_grad(); }

  Optimizer& inner() { return *inner_; }
  const std::vector<Tensor>& slow_weights() const { return slow_; }
  std::int64_t k() const { return k_; }
  double alpha() const { return alpha_; }
  std::int64_t steps_since_sync() const { return counter_; }

  // The inner state plus "lookahead.<i>" slow weights and meta["lookahead"] = {k, alpha, counter}.
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);

 private:
  void after_inner_step();
  std::unique_ptr<Optimizer> inner_;
  std::vector<Tensor> params_, slow_;
  std::int64_t k_;
  double alpha_;
  std::int64_t counter_ = 0;
};

}  // namespace descent::optim
