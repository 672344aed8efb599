// The WebAssembly module's one export: call(method, request JSON) -> response JSON (playground_core.hpp).
// JSON strings keep the boundary to one function whose errors come back as {"error": message}.
#include <emscripten/bind.h>

#include "playground_core.hpp"

EMSCRIPTEN_BINDINGS(descent_playground) { emscripten::function("call", &descent::playground::call); }
