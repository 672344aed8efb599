#pragma once
// Adafactor (torch.optim.Adafactor, PyTorch 2.11): second moments factored into row and column means for
// tensors of two or more dimensions (batched over the leading dimensions), a full second moment otherwise.
//
//   g      <- ±grad * grad_scale                            (minus when maximize)
//   beta_t <- t^beta2_decay;   rho_t <- min(lr, 1 / sqrt(t));   alpha <- max(eps[1], RMS(p)) * rho_t
//   p      <- p * (1 - lr * weight_decay)                     (RMS(p) is taken before this)
//   factored:  R <- lerp(R, mean_cols(g^2), beta_t);  C <- lerp(C, mean_rows(g^2), beta_t)
//              V <- R C / max(mean(R), eps[0])
//   otherwise: V <- lerp(V, g^2, beta_t)
//   u      <- g / sqrt(max(V, eps[0]^2));   p <- p - alpha / max(1, RMS(u) / d) * u
// Source: Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost", as
// PyTorch formulates it: no first moment, relative step size rho_t capped by lr, update clipping by d.
// eps[0] defaults to null, PyTorch's None: the machine epsilon of each parameter's dtype (1.19e-7 for
// float32, 2.2e-16 for float64). The factored state of an R x C matrix is R + C numbers,
// which state_bytes() reports; state_dict() holds "<i>.row_var" ([..., R, 1]), "<i>.col_var"
// ([..., 1, C]) or "<i>.variance" as PyTorch names them, in the parameter's dtype (state_dtype "bfloat16"
// does not apply: the factored state is already small). Not an element-wise rule: per-tensor passes. The
// fast path of 1-D parameters is a fused two-pass loop (update_unfactored); factored parameters take three
// threaded, vectorised passes over blocks of rows whose sums follow one fixed order (update_factored).
#include <map>
#include <vector>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

class Adafactor final : public Optimizer {
 public:
  Adafactor(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "adafactor"; }
  std::size_t state_bytes() const override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& state) override;

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;

 private:
  struct Moments {
    Tensor row_var, col_var, variance;  // row_var and col_var for >= 2 dims, variance otherwise
  };
  struct StepScalars {
    double lr, weight_decay, d, eps1, eps2, multiplier, beta_t, rho_t;
  };
  // Working memory of the factored passes, kept between steps so that a steady state allocates nothing.
  struct FactoredScratch {
    std::vector<double> col_sums;    // per block of rows: its column sums of g^2
    std::vector<double> block_sums;  // per block of rows: its sum of p^2, then of u^2
    std::vector<double> row_means;   // per matrix: max(mean(row_var), eps[0])
  };
  void update_tensor(const ParamGroup& group, const Tensor& param, const Tensor& grad, Moments& moments,
                     std::int64_t step);
  void update_unfactored(const Tensor& param, const Tensor& grad, Moments& moments, const StepScalars& k);
  void update_factored(const Tensor& param, const Tensor& grad, Moments& moments, const StepScalars& k);
  std::map<std::size_t, Moments> moments_;  // by global parameter index
  FactoredScratch scratch_;
};

}  // namespace descent::optim
