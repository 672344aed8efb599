#pragma once
// Numerical gradient checking: compares autograd's gradients with central finite differences.
#include <functional>
#include <string>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::autograd {

struct GradcheckResult {
  bool passed = true;
  double max_abs_error = 0.0;
  std::string detail;  // first mismatch: input, element, analytic and numeric values
};

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

// f maps the inputs (float64 leaves requiring grad) to one tensor; its gradient with respect to every
// input is checked against (f(x + eps) - f(x - eps)) / 2 eps of sum(f(x) * w) for a fixed random w.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace descent::autograd
