#pragma once
// Runs one case of tests/data/vectors/optim against descent's optimizers: builds the optimizer from the
// registry with the case's options, feeds grads[step][tensor] one step at a time (or, for a `closure`
// case, calls step(closure) on the named function), and compares the parameters after every step with
// expected[step][tensor] (|got - want| <= atol + rtol * |want|; a NaN or infinity must match exactly).
// Optional fields: `set[step]`, hyperparameters set on every group before that step (a scheduled momentum,
// say); any value may be "nan", "inf" or "-inf". The format is in tests/data/vectors/README.md.
#include <nlohmann/json.hpp>

#include "descent/vectors/case_result.hpp"

namespace descent::vectors {

// passed: every parameter after every step matched. detail: the first mismatch (step, tensor, element,
// both values), "not implemented" when the optimizer is not in the registry, or the error message of a
// malformed case or rejected options.
CaseResult run_optim_case(const nlohmann::json& case_json);

}  // namespace descent::vectors
