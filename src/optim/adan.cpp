#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/adan.hpp"

#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

Adan::Adan(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-3},
                 {"betas", {0.98, 0.92, 0.99}},
                 {"eps", 1e-8},
                 {"eps_root", 1e-8},
                 {"weight_decay", 0.0},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Adan::validate(const nlohmann::json& options) const {
  check_shared_options(name(), options);  // betas[0], betas[1], lr, eps, weight_decay
  const double beta3 = options["betas"][2], eps_root = options["eps_root"];
  check_option(name(), "betas[2]", beta3, beta3 >= 0 && beta3 < 1, "0 <= betas[2] < 1");
  check_option(name(), "eps_root", eps_root, eps_root >= 0, "eps_root >= 0");
}

void Adan::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const bool first = state.step == 0;
  const double t = double(++state.step);
  const auto& betas = group.options["betas"];
  const double beta1 = betas[0], beta2 = betas[1], beta3 = betas[2];
  const double multiplier = grad_multiplier(group), lr = group.number("lr"), wd = group.number("weight_decay");
  const double eps = group.number("eps"), eps_root = group.number("eps_root");
  run_rule<AdanRule>(segment, [&]<class T>() {
    return AdanStep<T>{T(multiplier),
                       T(beta1),
                       T(1.0 - beta1),
                       T(beta2),
                       T(1.0 - beta2),
                       T(beta3),
                       T(1.0 - beta3),
                       T(1.0 - std::pow(beta1, t)),
                       T(1.0 - std::pow(beta2, t)),
                       T(1.0 - std::pow(beta3, t)),
                       T(eps_root),
                       T(eps),
                       T(lr),
                       T(wd),
                       first};
  });
}

}  // namespace descent::optim
