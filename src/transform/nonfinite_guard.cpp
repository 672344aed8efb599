#include "descent/transform/nonfinite_guard.hpp"
#include "descent/core/json_integer.hpp"

#include <cmath>

#include "descent/core/strided.hpp"
#include "descent/transform/grad_norm.hpp"

namespace descent::transform {

NonFinitePolicy parse_nonfinite_policy(const std::string& name) {
  if (name == "skip") return NonFinitePolicy::Skip;
  if (name == "raise") return NonFinitePolicy::Raise;
  throw Error(detail::concat("non-finite policy: got '", name, "'; expected 'skip' or 'raise'"));
}

const char* nonfinite_policy_name(NonFinitePolicy policy) {
  return policy == NonFinitePolicy::Skip ? "skip" : "raise";
}

NonFiniteLocation find_nonfinite_grad(const std::vector<Tensor>& params, double grad_multiplier) {
  NonFiniteLocation location;
  for (std::size_t i = 0; i < params.size() && !location.found; ++i) {
    const Tensor grad = params[i].defined() ? params[i].grad() : Tensor();
    if (!grad.defined()) continue;
    dispatch_floating(grad.dtype(), "find_nonfinite_grad", [&](auto zero) {
      using T = decltype(zero);
      const T* base = static_cast<const T*>(grad.storage()->data());
      std::int64_t element = 0;
      for_each_offset(grad.shape(), grad.strides(), grad.offset(), [&](std::int64_t at) {
        const T u = T(base[at] * T(grad_multiplier));
        if (!location.found && !std::isfinite(u)) location = {true, i, element, double(u)};
        ++element;
      });
    });
  }
  return location;
}

bool NonFiniteGuard::check(const std::vector<Tensor>& params, double grad_multiplier) {
  return record(global_grad_norm(params, kInfNorm, grad_multiplier).found_nonfinite, params, grad_multiplier);
}

bool NonFiniteGuard::record(bool found_nonfinite, const std::vector<Tensor>& params, double grad_multiplier) {
  ++steps_checked_;
  if (!found_nonfinite) return true;
  if (policy_ == NonFinitePolicy::Skip) {
    ++steps_skipped_;
    return false;
  }
  const NonFiniteLocation where = find_nonfinite_grad(params, grad_multiplier);
  std::string tensor = "an unknown parameter";
  if (where.found) {
    const Tensor& param = params[where.param_index];
    tensor = where.param_index < names_.size()
                 ? detail::concat("parameter '", names_[where.param_index], "'")
                 : detail::concat("parameter ", where.param_index);
    tensor += detail::concat(" (shape ", param.shape(), ", ", dtype_name(param.grad().dtype()),
                             ") holds ", where.value, " at element ", where.element);
  }
  throw Error(detail::concat("non-finite gradient at step ", steps_checked_, ": ", tensor,
                             "; expected finite gradients (policy 'raise'; 'skip' skips such steps)"));
}

nlohmann::json NonFiniteGuard::state_dict() const {
  return {{"policy", nonfinite_policy_name(policy_)},
          {"steps_checked", steps_checked_},
          {"steps_skipped", steps_skipped_}};
}

void NonFiniteGuard::load_state_dict(const nlohmann::json& state) {
  try {
    const auto checked = json_integer(state.at("steps_checked"), "steps_checked");
    const auto skipped = json_integer(state.at("steps_skipped"), "steps_skipped");
    DESCENT_CHECK(checked >= 0 && skipped >= 0 && skipped <= checked, "NonFiniteGuard::load_state_dict: "
                  "steps_checked = ", checked, ", steps_skipped = ", skipped,
                  "; expected 0 <= steps_skipped <= steps_checked");
    steps_checked_ = checked;
    steps_skipped_ = skipped;
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("NonFiniteGuard::load_state_dict: ", e.what(), " in ", state.dump(),
                               "; expected integers under steps_checked and steps_skipped"));
  }
}

}  // namespace descent::transform
