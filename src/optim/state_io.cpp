#include "state_io.hpp"

#include <charconv>
#include <cstring>

#include "descent/core/error.hpp"

namespace descent::optim {

Tensor export_state(const std::byte* data, const Tensor& param, StateDType state_dtype) {
  const std::int64_t n = param.numel();
  if (state_dtype == StateDType::BFloat16) {
    Tensor out = empty(param.shape(), DType::Float32);
    const auto* bits = reinterpret_cast<const BFloat16*>(data);
    float* values = out.data<float>();
    for (std::int64_t i = 0; i < n; ++i) values[i] = bf16_to_float(bits[i]);
    return out;
  }
  Tensor out = empty(param.shape(), param.dtype());
  std::memcpy(out.raw_data(), data, std::size_t(n) * dtype_size(param.dtype()));
  return out;
}

void import_state(const Tensor& tensor, const Tensor& param, std::byte* data, StateDType state_dtype,
                  const std::string& key) {
  DESCENT_CHECK(tensor.defined() && tensor.shape() == param.shape(), "load_state_dict: state tensor '", key,
                "' has shape ", tensor.defined() ? tensor.shape().to_string() : "(undefined)",
                "; expected the parameter's shape ", param.shape());
  const std::int64_t n = param.numel();
  if (state_dtype == StateDType::BFloat16) {
    const Tensor values = tensor.to(DType::Float32).contiguous_copy();
    const float* src = values.data<float>();
    auto* bits = reinterpret_cast<BFloat16*>(data);
    for (std::int64_t i = 0; i < n; ++i) bits[i] = float_to_bf16(src[i]);
    return;
  }
  const Tensor values = tensor.to(param.dtype()).contiguous_copy();
  std::memcpy(data, values.raw_data(), std::size_t(n) * dtype_size(param.dtype()));
}

StateKey parse_state_key(const std::string& optimizer, const std::string& key, std::size_t param_count) {
  const auto dot = key.find('.');
  std::size_t index = 0;
  const char* end = key.data() + (dot == std::string::npos ? 0 : dot);
  const auto [stop, error] = std::from_chars(key.data(), end, index);
  DESCENT_CHECK(dot != std::string::npos && dot > 0 && dot + 1 < key.size() && error == std::errc() && stop == end,
                optimizer, ": load_state_dict: tensor name '", key,
                "' is not of the form <param index>.<buffer name> (e.g. '0.exp_avg')");
  DESCENT_CHECK(index < param_count, optimizer, ": load_state_dict: tensor '", key, "' names parameter ", index,
                ", but this optimizer has ", param_count, " parameters");
  return {index, key.substr(dot + 1)};
}

}  // namespace descent::optim
