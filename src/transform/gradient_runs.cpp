#include "descent/transform/gradient_runs.hpp"

namespace descent::transform {

void collect_gradients(const std::vector<Tensor>& params, const char* where, GradientLayout& layout) {
  layout.clear();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& param = params[i];
    DESCENT_CHECK(param.defined(), where, ": parameter ", i, " is an undefined tensor; expected a parameter");
    const Tensor grad = param.grad();
    if (!grad.defined()) continue;
    DESCENT_CHECK(is_floating(grad.dtype()), where, ": the gradient of parameter ", i, " is ",
                  dtype_name(grad.dtype()), "; expected float32 or float64");
    DESCENT_CHECK(grad.shape() == param.shape(), where, ": the gradient of parameter ", i, " has shape ",
                  grad.shape(), "; expected the parameter's shape ", param.shape());
    ++layout.tensors;
    if (grad.numel() == 0) continue;
    if (!grad.is_contiguous()) {
      layout.strided.push_back(grad);
      continue;
    }
    void* data = grad.raw_data();
    if (!layout.runs.empty()) {
      GradientRun& last = layout.runs.back();
      char* last_end = static_cast<char*>(last.data) + last.numel * std::int64_t(dtype_size(last.dtype));
      if (last.dtype == grad.dtype() && last_end == data) {
        last.numel += grad.numel();
        layout.run_numel += grad.numel();
        continue;
      }
    }
    layout.runs.push_back({data, grad.numel(), grad.dtype()});
    layout.run_numel += grad.numel();
  }
}

GradientLayout collect_gradients(const std::vector<Tensor>& params, const char* where) {
  GradientLayout layout;
  collect_gradients(params, where, layout);
  return layout;
}

}  // namespace descent::transform
