#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/rprop.hpp"

#include "descent/optim/validate.hpp"

namespace descent::optim {

Rprop::Rprop(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-2},
                 {"etas", {0.5, 1.2}, {"eta_minus", "eta_plus"}},
                 {"step_sizes", {1e-6, 50.0}, {"step_size_min", "step_size_max"}},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Rprop::validate(const nlohmann::json& o) const {
  check_shared_options(name(), o);
  const double eta_minus = o["etas"][0], eta_plus = o["etas"][1];
  check_option(name(), "etas[0]", eta_minus, eta_minus > 0 && eta_minus < 1, "0 < etas[0] < 1");
  check_option(name(), "etas[1]", eta_plus, eta_plus > 1, "etas[1] > 1");
  const double low = o["step_sizes"][0], high = o["step_sizes"][1];
  check_option(name(), "step_sizes[0]", low, low >= 0, "step_sizes[0] >= 0");
  check_option(name(), "step_sizes[1]", high, high >= low, "step_sizes[1] >= step_sizes[0]");
}

void Rprop::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const bool first = state.step == 0;
  ++state.step;
  const double multiplier = grad_multiplier(group), lr = group.number("lr");
  const double eta_minus = group.pair("etas", 0), eta_plus = group.pair("etas", 1);
  const double low = group.pair("step_sizes", 0), high = group.pair("step_sizes", 1);
  run_rule<RpropRule>(segment, [&]<class T>() {
    return RpropStep<T>{T(multiplier), T(eta_minus), T(eta_plus), T(low), T(high), T(lr), first};
  });
}

}  // namespace descent::optim
