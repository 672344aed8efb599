#pragma once
// Muon, momentum orthogonalised by Newton-Schulz (torch.optim.Muon, PyTorch 2.11). For 2-D parameters
// only; any other parameter is an Error naming it (use another optimizer for biases and norms).
//
//   g  <- grad * grad_scale
//   b  <- lerp(b, g, 1 - momentum);   u <- nesterov ? lerp(g, b, momentum) : b
//   O  <- NewtonSchulz(u): X = u (transposed when rows > cols) / max(||u||_F, eps), then ns_steps times
//         A = X X^T;  X = a X + (b A + c A A) X     with (a, b, c) = ns_coefficients
//   p  <- p * (1 - lr * weight_decay) - lr' * O
//   lr' = lr * sqrt(max(1, rows / cols))       adjust_lr_fn "original" (PyTorch's None)
//   lr' = lr * 0.2 * sqrt(max(rows, cols))     adjust_lr_fn "match_rms_adamw"
// Source: Jordan et al. 2024 (Muon) and Liu et al. 2025 ("Muon is Scalable for LLM Training",
// match_rms_adamw). Deviation from PyTorch: the Newton-Schulz iteration runs in float32, not bfloat16.
// State: momentum_buffer.
#include <array>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

class Muon final : public Optimizer {
 public:
  Muon(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "muon"; }

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;
};

// The orthogonalisation step: replaces the rows x cols matrix `x` (row-major) by its Newton-Schulz
// approximation of U V^T, where x = U S V^T.
void newton_schulz(std::vector<float>& x, std::int64_t rows, std::int64_t cols, const std::array<double, 3>& abc,
                   int steps, double eps);

}  // namespace descent::optim
