#pragma once
// Adam and AdamW (torch.optim.Adam / AdamW, PyTorch 2.11), with AMSGrad.
//
//   g  <- ±grad * grad_scale (+ weight_decay * p  for L2 decay, Adam's default)
//   p  <- p * (1 - lr * weight_decay)           for decoupled decay (AdamW, or decoupled_weight_decay)
//   m  <- lerp(m, g, 1 - beta1)
//   v  <- beta2 * v + (1 - beta2) * g^2
//   v̂  <- max(v̂, v)                              AMSGrad only; the denominator then uses v̂
//   p  <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// Sources: Kingma & Ba 2015 (Adam), Loshchilov & Hutter 2019 (AdamW), Reddi et al. 2018 (AMSGrad).
// Deviations from the papers, as PyTorch: eps is added after the bias correction of sqrt(v) (the paper's
// eps-hat form); AdamW's decay is scaled by lr (the paper uses a separate schedule multiplier); AMSGrad
// keeps the max of the raw v, not of the bias-corrected one. The step count t is per parameter.
// State: exp_avg, exp_avg_sq, and max_exp_avg_sq with amsgrad.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

template <class T>
struct AdamStep {
  T grad_multiplier, l2_weight_decay, param_decay, one_minus_beta1, beta2, one_minus_beta2, step_size,
      bias_correction2_sqrt, eps;
};

// Decay, gradient and both moments: what Adam, AdamW and AMSGrad share.
template <class V, class T>
DESCENT_RULE V adam_moments(const AdamStep<T>& s, V& param, V grad, V& exp_avg, V& exp_avg_sq) {
  const V g = l2_gradient(grad, param, s.grad_multiplier, s.l2_weight_decay);
  param = param * s.param_decay;
  exp_avg = lerp(exp_avg, g, s.one_minus_beta1);
  exp_avg_sq = exp_avg_sq * s.beta2 + s.one_minus_beta2 * g * g;
  return g;
}

struct AdamRule {
  template <class T>
  using Step = AdamStep<T>;
  static constexpr std::array<const char*, 2> buffers{"exp_avg", "exp_avg_sq"};
  template <class V, class T>
  DESCENT_RULE static void apply(const AdamStep<T>& s, V& param, V grad, V& exp_avg, V& exp_avg_sq) {
    adam_moments(s, param, grad, exp_avg, exp_avg_sq);
    param = param - s.step_size * (exp_avg / (root(exp_avg_sq) / s.bias_correction2_sqrt + s.eps));
  }
};

struct AmsgradRule {
  template <class T>
  using Step = AdamStep<T>;
  static constexpr std::array<const char*, 3> buffers{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  template <class V, class T>
  DESCENT_RULE static void apply(const AdamStep<T>& s, V& param, V grad, V& exp_avg, V& exp_avg_sq,
                                 V& max_exp_avg_sq) {
    adam_moments(s, param, grad, exp_avg, exp_avg_sq);
    max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq);
    param = param - s.step_size * (exp_avg / (root(max_exp_avg_sq) / s.bias_correction2_sqrt + s.eps));
  }
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "adam"; }

 protected:
  // AdamW: the same algorithm with decoupled decay (no decoupled_weight_decay option) and weight_decay 0.01
  // by default.
  Adam(std::vector<Tensor> params, const nlohmann::json& options, bool adamw, double weight_decay);
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;

 private:
  bool adamw_ = false;
};

class AdamW final : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const nlohmann::json& options) : Adam(std::move(params), options, true, 1e-2) {}
  std::string name() const override { return "adamw"; }
};

}  // namespace descent::optim
