#pragma once
// Conversion between a parameter's slice of a flat state buffer and the tensor that state_dict() exposes.
#include <cstddef>
#include <string>

#include "descent/core/tensor.hpp"
#include "descent/optim/kernel.hpp"

namespace descent::optim {

// A tensor of the parameter's shape holding its state: in the parameter's dtype, or float32 when the state
// is stored as bfloat16 (the conversion back is exact).
Tensor export_state(const std::byte* data, const Tensor& param, StateDType state_dtype);

// Writes `tensor` (which must have the parameter's shape) into the parameter's slice at `data`; `key`
// names the tensor in errors.
void import_state(const Tensor& tensor, const Tensor& param, std::byte* data, StateDType state_dtype,
                  const std::string& key);

// A state_dict tensor name "<param index>.<buffer name>", split and checked: the index must be a decimal
// number below `param_count`. `optimizer` names the optimizer in errors.
struct StateKey {
  std::size_t index;
  std::string buffer;
};
StateKey parse_state_key(const std::string& optimizer, const std::string& key, std::size_t param_count);

}  // namespace descent::optim
