#include "descent/optim/tensor_pass.hpp"

namespace descent::optim {

std::vector<TensorSlice> tensor_slices(const ParamGroup& group, const Segment& segment) {
  std::size_t first = group.params.size();
  for (std::size_t j = 0; j < group.params.size(); ++j)
    if (group.params[j].raw_data() == segment.param) {
      first = j;
      break;
    }
  DESCENT_CHECK(first + segment.param_count <= group.params.size(),
                "optimizer: a segment does not start at a parameter of its group");
  std::vector<TensorSlice> slices;
  slices.reserve(segment.param_count);
  std::int64_t offset = 0;
  for (std::size_t k = 0; k < segment.param_count; ++k) {
    const Tensor& p = group.params[first + k];
    slices.push_back({segment.first_param + k, offset, p.numel(), &p});
    offset += p.numel();
  }
  return slices;
}

Segment slice_segment(const Segment& segment, const TensorSlice& slice, StateDType state_dtype) {
  const std::size_t element = dtype_size(segment.dtype);
  const std::size_t state_element = state_dtype == StateDType::BFloat16 ? sizeof(BFloat16) : element;
  Segment out = segment;
  out.param = static_cast<char*>(segment.param) + std::size_t(slice.offset) * element;
  out.grad = static_cast<const char*>(segment.grad) + std::size_t(slice.offset) * element;
  out.numel = slice.numel;
  out.first_param = slice.param_index;
  out.param_count = 1;
  out.state_byte_offset = segment.state_byte_offset + std::size_t(slice.offset) * state_element;
  return out;
}

}  // namespace descent::optim
