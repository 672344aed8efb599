#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/lamb.hpp"

#include <cmath>

#include "descent/optim/tensor_pass.hpp"
#include "descent/optim/validate.hpp"

namespace descent::optim {

double trust_ratio(double param_norm, double update_norm, double coefficient, double eps) {
  if (param_norm == 0 || update_norm == 0) return 1.0;
  return coefficient * param_norm / (update_norm + eps);
}

Lamb::Lamb(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-3},
                 {"betas", {0.9, 0.999}, {"beta1", "beta2"}},
                 {"eps", 1e-6},
                 {"eps_root", 0.0},
                 {"weight_decay", 0.0},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Lamb::validate(const nlohmann::json& options) const {
  check_shared_options(name(), options);
  const double eps_root = options["eps_root"];
  check_option(name(), "eps_root", eps_root, eps_root >= 0, "eps_root >= 0");
}

void Lamb::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const double t = double(++state.step);
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1), lr = group.number("lr");
  const double multiplier = grad_multiplier(group), wd = group.number("weight_decay");
  const double eps = group.number("eps"), eps_root = group.number("eps_root");
  auto step_with = [&](double scale) {
    return [&, scale]<class T>() {
      return LambStep<T>{T(multiplier),
                         T(beta1),
                         T(1.0 - beta1),
                         T(beta2),
                         T(1.0 - beta2),
                         T(1.0 - std::pow(beta1, t)),
                         T(1.0 - std::pow(beta2, t)),
                         T(eps_root),
                         T(eps),
                         T(wd),
                         T(scale)};
    };
  };
  // The reference path: moments over the segment, then per tensor the norms (recomputing u) and the
  // update. The fast path fuses the first two into one pass per tensor (the moments are stored, read back
  // as stored, and their u added to the norms), so it reads p, g, m, v once and then p, m, v for the
  // update. Both sum through vector_sums with the same terms, so the ratios are bitwise equal.
  const bool fused = !reference_path();
  if (!fused) run_rule<LambMomentsRule>(segment, step_with(0.0));
  for (const TensorSlice& slice : tensor_slices(group, segment)) {
    const Segment one = slice_segment(segment, slice, state_dtype());
    std::array<double, 2> sums{};
    dispatch_param_state(one.dtype, state_dtype(), [&]<class T, class S>() {
      const auto s = step_with(0.0).template operator()<T>();
      const T* p = static_cast<const T*>(one.param);
      const T* g = static_cast<const T*>(one.grad);
      S* m = static_cast<S*>(state_buffer("exp_avg", one));
      S* v = static_cast<S*>(state_buffer("exp_avg_sq", one));
      sums = vector_sums<T, 2>(one.numel, [=](auto lanes, std::int64_t i) DESCENT_TERM {
        using L = decltype(lanes);
        typename L::V x = L::load(p + i);
        if (fused) {
          typename L::V a = L::load(m + i), b = L::load(v + i);
          LambMomentsRule::apply(s, x, L::load(g + i), a, b);
          L::store(m + i, a), L::store(v + i, b);
        }
        const typename L::V u = lamb_direction(s, x, L::load(m + i), L::load(v + i));
        return std::array<typename L::V, 2>{x * x, u * u};
      });
    });
    const double ratio = trust_ratio(std::sqrt(sums[0]), std::sqrt(sums[1]), 1.0, 0.0);
    run_rule<LambUpdateRule>(one, step_with(lr * ratio));
  }
}

}  // namespace descent::optim
