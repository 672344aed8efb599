#pragma once
// Element-wise helpers shared by the weight-averaging wrappers.
#include <string>
#include <vector>

#include "descent/core/error.hpp"
#include "descent/core/parallel.hpp"
#include "descent/core/tensor.hpp"

namespace descent::optim::detail_wrappers {

// Every tensor defined, floating, contiguous.
inline void check_tracked(const char* who, const std::vector<Tensor>& tensors) {
  DESCENT_CHECK(!tensors.empty(), who, ": needs at least one tensor to track");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    DESCENT_CHECK(t.defined(), who, ": tensor ", i, " is undefined");
    DESCENT_CHECK(is_floating(t.dtype()) && t.is_contiguous(), who, ": tensor ", i, " (", dtype_name(t.dtype()),
                  ", shape ", t.shape(), ") must be a contiguous float32 or float64 tensor");
  }
}

// `targets` match `reference` one to one in shape and dtype.
inline void check_matching(const char* who, const std::vector<Tensor>& reference, const std::vector<Tensor>& targets) {
  DESCENT_CHECK(targets.size() == reference.size(), who, ": got ", targets.size(), " tensors; expected ",
                reference.size());
  for (std::size_t i = 0; i < targets.size(); ++i)
    DESCENT_CHECK(targets[i].defined() && targets[i].shape() == reference[i].shape() &&
                      targets[i].dtype() == reference[i].dtype() && targets[i].is_contiguous(),
                  who, ": tensor ", i, " must be a contiguous ", dtype_name(reference[i].dtype()), " tensor of shape ",
                  reference[i].shape());
}

// fn(a[i], b[i]) with references to both elements (as the tensors' type), in parallel.
template <class Fn>
void for_each_pair(const Tensor& a, const Tensor& b, Fn&& fn) {
  dispatch_floating(a.dtype(), "weight averaging", [&](auto zero) {
    using T = decltype(zero);
    T* x = a.data<T>();
    T* y = b.data<T>();
    parallel_for(0, a.numel(), std::int64_t(1) << 16, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) fn(x[i], y[i]);
    });
  });
  a.mark_modified();
  b.mark_modified();
}

inline std::vector<Tensor> clones(const std::vector<Tensor>& tensors) {
  std::vector<Tensor> out;
  for (const auto& t : tensors) out.push_back(t.detach().clone());
  return out;
}

}  // namespace descent::optim::detail_wrappers
