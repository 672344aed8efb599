#pragma once
// Range checks for optimizer options: an Error names the optimizer, the option, its value and the range.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "descent/core/error.hpp"

namespace descent::optim {

// Throws "<optimizer>: <label> = <value>: expected <expected>" unless `ok` (the format of
// descent/core/options.hpp).
inline void check_option(const std::string& optimizer, const std::string& label, double value, bool ok,
                         const std::string& expected) {
  DESCENT_CHECK(ok && !std::isnan(value), optimizer, ": ", label, " = ", value, ": expected ", expected);
}

// Checks every option that PyTorch's optimizers share, where present, with PyTorch's ranges: lr, eps,
// weight_decay, momentum, lr_decay, momentum_decay, initial_accumulator_value, alpha, lambd >= 0 and
// finite (PyTorch accepts inf, which turns every weight NaN after one step); each element of betas in
// [0, 1); rho in [0, 1].
inline void check_shared_options(const std::string& optimizer, const nlohmann::json& options) {
  for (const char* key : {"lr", "eps", "weight_decay", "momentum", "lr_decay", "momentum_decay",
                          "initial_accumulator_value", "alpha", "lambd"})
    if (options.contains(key)) {
      const double value = options[key];
      check_option(optimizer, key, value, value >= 0 && std::isfinite(value), std::string("a finite ") + key + " >= 0");
    }
  if (options.contains("betas"))
    for (int i = 0; i < 2; ++i) {
      const double beta = options["betas"][i];
      const std::string label = "betas[" + std::to_string(i) + "]";
      check_option(optimizer, label, beta, beta >= 0 && beta < 1, "0 <= " + label + " < 1");
    }
  if (options.contains("rho")) {
    const double rho = options["rho"];
    check_option(optimizer, "rho", rho, rho >= 0 && rho <= 1, "0 <= rho <= 1");
  }
}

}  // namespace descent::optim
