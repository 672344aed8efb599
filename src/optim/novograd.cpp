#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/novograd.hpp"

#include <cmath>

#include "descent/optim/tensor_pass.hpp"
#include "descent/optim/validate.hpp"

namespace descent::optim {

NovoGrad::NovoGrad(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-3},
                 {"betas", {0.9, 0.25}, {"beta1", "beta2"}},
                 {"eps", 1e-6},
                 {"eps_root", 0.0},
                 {"weight_decay", 0.0},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void NovoGrad::validate(const nlohmann::json& options) const {
  check_shared_options(name(), options);
  const double eps_root = options["eps_root"];
  check_option(name(), "eps_root", eps_root, eps_root >= 0, "eps_root >= 0");
}

void NovoGrad::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const bool first = state.step == 0;
  ++state.step;
  const double multiplier = grad_multiplier(group), wd = group.number("weight_decay"), lr = group.number("lr");
  const double beta1 = group.pair("betas", 0), beta2 = group.pair("betas", 1);
  const double eps = group.number("eps"), eps_root = group.number("eps_root");
  for (const TensorSlice& slice : tensor_slices(group, segment)) {
    const Segment one = slice_segment(segment, slice, state_dtype());
    double sum = 0;
    dispatch_floating(one.dtype, "novograd", [&](auto zero) {
      using T = decltype(zero);
      const T* g = static_cast<const T*>(one.grad);
      const T m = T(multiplier);
      sum = vector_sums<T, 1>(one.numel, [=](auto lanes, std::int64_t i) DESCENT_TERM {
        using L = decltype(lanes);
        const typename L::V scaled = L::load(g + i) * m;
        return std::array<typename L::V, 1>{scaled * scaled};
      })[0];
    });
    if (grad_sq_norms_.size() <= slice.param_index) grad_sq_norms_.resize(slice.param_index + 1, 0.0);
    double& n = grad_sq_norms_[slice.param_index];
    n = first ? sum : beta2 * n + (1.0 - beta2) * sum;
    const double inverse_denominator = 1.0 / (std::sqrt(n + eps_root) + eps);
    run_rule<NovoGradRule>(one, [&]<class T>() {
      return NovoGradStep<T>{T(multiplier), T(inverse_denominator), T(wd), T(beta1), T(lr), first};
    });
  }
}

std::size_t NovoGrad::state_bytes() const {
  return Optimizer::state_bytes() + grad_sq_norms_.size() * sizeof(double);
}

StateDict NovoGrad::state_dict() const {
  StateDict out = Optimizer::state_dict();
  auto& per_param = out.meta["state"];
  for (std::size_t i = 0; i < per_param.size(); ++i)
    per_param[i]["grad_sq_norm"] = i < grad_sq_norms_.size() ? grad_sq_norms_[i] : 0.0;
  return out;
}

void NovoGrad::load_state_dict(const StateDict& state) {
  std::vector<double> norms;
  DESCENT_CHECK(state.meta.is_object() && state.meta.contains("state"), name(),
                ": load_state_dict: the state has no per-parameter entries");
  for (const auto& entry : state.meta["state"]) {
    DESCENT_CHECK(entry.contains("grad_sq_norm") && entry["grad_sq_norm"].is_number(), name(),
                  ": load_state_dict: a parameter's state lacks the number grad_sq_norm: ", entry.dump());
    norms.push_back(entry["grad_sq_norm"].get<double>());
  }
  Optimizer::load_state_dict(state);
  grad_sq_norms_ = std::move(norms);
}

}  // namespace descent::optim
