#pragma once
// The gradients of a parameter list seen as memory runs. In a built model every gradient is a view into
// one contiguous gradient arena, so consecutive gradients that touch in memory merge into one run and a
// whole-model reduction or rescale becomes one parallel pass over a few long arrays.
#include <cstdint>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::transform {

// A contiguous stretch of gradient memory of one floating dtype.
struct GradientRun {
  void* data = nullptr;
  std::int64_t numel = 0;
  DType dtype = DType::Float32;
};

struct GradientLayout {
  std::vector<GradientRun> runs;   // contiguous gradients, adjacent ones merged (parameter order kept)
  std::vector<Tensor> strided;     // non-contiguous gradients, traversed element by element
  std::int64_t run_numel = 0;      // total elements over `runs`
  std::int64_t tensors = 0;        // gradients found (parameters with an undefined gradient are skipped)

  void clear() {
    runs.clear();
    strided.clear();
    run_numel = 0;
    tensors = 0;
  }
};

// Fills `layout` (reusing its capacity) with the gradients of `params`. Throws naming `where` and the
// parameter index when a gradient is not float32/float64 or its shape differs from its parameter's.
void collect_gradients(const std::vector<Tensor>& params, const char* where, GradientLayout& layout);
GradientLayout collect_gradients(const std::vector<Tensor>& params, const char* where);

}  // namespace descent::transform
