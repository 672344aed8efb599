#pragma once
// The optimizer playground's engine: what the browser page asks of descent, as JSON in and JSON out. It is
// compiled twice from the same source: to WebAssembly with em++ (web/playground/bindings.cpp exports it to
// the page) and natively with g++ for tests/playground, which checks it against descent's own optimizer
// loop and against the WebAssembly build.
//
// Every path is descent's real optimizer (optim::make_optimizer) over one float64 tensor holding the
// point, with the test function's analytic gradient (trajectory::TestFunction) written into its grad
// before each step, exactly as the trajectory layer drives it; L-BFGS gets a closure. Muon accepts only
// 2-D parameters, so for Muon the point is a 1 x 2 matrix (its orthogonalised step is then the unit
// direction of the momentum).
#include <nlohmann/json.hpp>
#include <string>

namespace descent::playground {

// {"functions": [describe_function(name) for every 2-D test function],
//  "optimizers": [{"name", "options": the optimizer's defaults by PyTorch option name}]}
nlohmann::json catalogue();

// {"spec", "name", "dims", "bounds": [[x0, x1], [y0, y1]], "default_start", "minima", "minimum_value"
//  (null when unbounded below), "stationary_points"} for a spec such as "quadratic(condition=100)".
// Only 2-D functions are accepted (the page draws the plane).
nlohmann::json describe_function(const std::string& spec);

// request: {"function": spec, "optimizer": name, "options": {PyTorch-named options}, "start": [x, y],
//           "steps": n (1..100000)}
// result:  {"points": [[x, y, f], ...] (the start, then one point per step), "diverged_at_step": step or
//           null (the first step whose point or value is not finite; it is not in points),
//           "gradient_evaluations": n}
// Bad requests (unknown names, bad options, missing fields) throw descent::Error.
nlohmann::json run_path(const nlohmann::json& request);

// request: {"function": spec, "resolution": n (2..400, default 120), "bounds": [[x0, x1], [y0, y1]]
//           (default: the function's plotting box)}
// result:  {"x": [...], "y": [...], "z": [[f(x[j], y[i]) for j] for i]}
nlohmann::json contour(const nlohmann::json& request);

// The engine behind one JSON string call, as the page makes it: {"ok": result} or {"error": message}.
// method is "catalogue", "describe_function", "run_path" or "contour".
std::string call(const std::string& method, const std::string& request_json);

}  // namespace descent::playground
