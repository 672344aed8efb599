// Feeds arbitrary bytes (plain or gzip IDX) to the IDX decoder and converts what decodes to tensors.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "descent/core/error.hpp"
#include "descent/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace descent::data;
  try {
    const IdxArray array = decode_idx(std::span<const std::uint8_t>(data, size), "fuzz-input");
    if (array.numel() > 0) (void)array.value(array.numel() - 1);
    const descent::Tensor as_float = array.to_tensor(descent::DType::Float32, 1.0 / 255.0);
    if (array.type != IdxType::Float32 && array.type != IdxType::Float64)
      (void)array.to_tensor(descent::DType::Int64);
    // Encoding what was decoded must give back the plain bytes of a plain input.
    const auto encoded = encode_idx(array);
    if (size > 2 && !(data[0] == 0x1f && data[1] == 0x8b)) {
      if (encoded.size() != size || !std::equal(encoded.begin(), encoded.end(), data)) __builtin_trap();
    }
    (void)as_float;
  } catch (const descent::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  return 0;
}
