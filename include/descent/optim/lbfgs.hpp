#pragma once
// L-BFGS (torch.optim.LBFGS, PyTorch 2.11): limited-memory BFGS over the concatenation of all parameters,
// with PyTorch's options, stopping rules and strong-Wolfe line search. step() needs a closure that
// recomputes the loss and the gradients (it may be called up to max_eval times per step); step() without
// one, and more than one parameter group, are Errors.
//
//   d  <- -H g   (two-loop recursion over the last history_size pairs s = t d, y = g' - g with y.s > 1e-10;
//                 initial H = y.s / y.y of the newest pair; d = -g on the very first iteration)
//   t  <- min(1, 1 / ||g||_1) * lr on the very first iteration, else lr; or a strong-Wolfe search from there
//         (c1 1e-4, c2 0.9, at most 25 evaluations, and its own tolerance_change of 1e-9 whatever the
//         group's: PyTorch's LBFGS.step passes neither to _strong_wolfe)
//   p  <- p + t d;  stop after max_iter iterations or max_eval closure calls, or when max|g| <=
//         tolerance_grad, max|t d| <= tolerance_change, |loss - previous loss| < tolerance_change, or the
//         directional derivative g.d > -tolerance_change
// Source: Nocedal & Wright, "Numerical Optimization" (algorithms 7.4 and 3.5/3.6), as PyTorch implements
// them (a port of minFunc). Deviations: the history and the direction are kept in float64 whatever the
// parameters' dtype (PyTorch keeps them in the parameters' dtype); max_eval defaults, as in PyTorch, to
// max_iter * 5 / 4; line_search_fn is "none" (PyTorch's None) or "strong_wolfe".
// State: d, prev_flat_grad, the history pairs (old_dirs, old_stps, ro), t, H_diag, prev_loss, n_iter,
// func_evals; state_bytes() counts every float64 vector.
#include <functional>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {

class LBFGS final : public Optimizer {
 public:
  LBFGS(std::vector<Tensor> params, const nlohmann::json& options);
  std::string name() const override { return "lbfgs"; }
  void step() override;                                          // an Error: L-BFGS needs a closure
  double step(const std::function<double()>& closure) override;  // returns the loss before the step
  std::size_t state_bytes() const override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& state) override;

 protected:
  void validate(const nlohmann::json& options) const override;
  void update(const ParamGroup& group, const Segment& segment, ParamState& state) override;

 private:
  using Vector = std::vector<double>;
  struct History {
    Vector d, prev_flat_grad;
    std::vector<Vector> old_dirs, old_stps;
    std::vector<double> ro;
    double t = 0, h_diag = 1, prev_loss = 0;
    std::int64_t n_iter = 0, func_evals = 0;
  };
  Vector gather_flat_grad() const;
  void add_to_params(double step, const Vector& direction);
  void set_params(const Vector& values);
  Vector flat_params() const;
  double evaluate(const std::function<double()>& closure);
  void update_direction(const Vector& flat_grad, std::size_t history_size);
  History history_;
};

}  // namespace descent::optim
