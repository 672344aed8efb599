#pragma once
// Schedule-free AdamW (optax.contrib.schedule_free_adamw, optax 0.2.8), with PyTorch-style option names.
// The parameters the optimizer holds are y, the point where gradients are evaluated (optax's `params`
// after apply_updates); z and the second moment are its state, and x is recomputed from y and z.
//
//   lr(k) <- lr * min(1, k / warmup_steps)                 (lr when warmup_steps = 0); t counts from 1
//   M     <- max(M, lr(t));   W <- W + M^weight_lr_power;   c <- M^weight_lr_power / W   (0 when W = 0)
//   g     <- ±grad * grad_scale                           (minus when maximize)
//   v     <- beta2 * v + (1 - beta2) * g^2
//   z'    <- z - lr(t-1) * (g / (sqrt(v / (1 - beta2^t)) + eps) + weight_decay * y)     (z starts at y)
//   x     <- (y - (1 - beta1) * z) / beta1;   x <- (1 - c) * x + c * z'
//   y     <- beta1 * x + (1 - beta1) * z'
// Source: Defazio et al. 2024, "The Road Less Scheduled". As optax: weight decay is taken at y, the
// warm-up is optax's warmup_constant_schedule from 0, and the averaging weight M reads the schedule one
// count later than z's step does (optax increments its step count before computing the weight).
// State: z, exp_avg_sq; per-parameter scalars weight_sum (W) and max_lr (M). With state_dtype "bfloat16"
// z is stored in bfloat16 too (optax's state_dtype): z is a copy of the weights, so this costs accuracy
// in the weights themselves, not only in a moment.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct ScheduleFreeStep {
  T grad_multiplier, beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction2, eps, lr, weight_decay;
  T averaging;  // c
  bool first_step;
};

struct ScheduleFreeAdamWRule {
  template <class T>
  using Step = ScheduleFreeStep<T>;
  static constexpr std::array<const char*, 2> buffers{"z", "exp_avg_sq"};
  template <class V, class T>
  DESCENT_RULE static void apply(const ScheduleFreeStep<T>& s, V& param, V grad, V& z, V& exp_avg_sq) {
    const V g = grad * s.grad_multiplier;
    const V z_old = s.first_step ? param : z;
    exp_avg_sq = s.one_minus_beta2 * (g * g) + s.beta2 * exp_avg_sq;
    z = z_old - s.lr * (g / (root(exp_avg_sq / s.bias_correction2) + s.eps) + s.weight_decay * param);
    const V x_old = (param - s.one_minus_beta1 * z_old) / s.beta1;
    const V x = (T(1) - s.averaging) * x_old + s.averaging * z;
    param = s.beta1 * x + s.one_minus_beta1 * z;
  }
};

class ScheduleFreeAdamW final : public Optimizer {
 public:
  ScheduleFreeAdamW(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "schedule_free_adamw"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
  std::vector<std::string> scalar_state_names() const override { return {"weight_sum", "max_lr"}; }
};

}  // namespace descent::optim
