#pragma once
// The IDX format (LeCun's MNIST files): a big-endian header of two zero bytes, an element-type code and a
// dimension count, then one 32-bit big-endian extent per dimension, then the elements, big-endian and
// row-major. Files may be gzip-compressed; compression is detected by its magic bytes, not the name.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::data {

enum class IdxType : std::uint8_t {
  UInt8 = 0x08,
  Int8 = 0x09,
  Int16 = 0x0B,
  Int32 = 0x0C,
  Float32 = 0x0D,
  Float64 = 0x0E,
};

const char* idx_type_name(IdxType type);
std::size_t idx_type_size(IdxType type);

// A decoded IDX array. `bytes` holds the elements in the host's byte order, row-major.
struct IdxArray {
  IdxType type = IdxType::UInt8;
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> bytes;

  std::int64_t numel() const;
  // Element i converted to double.
  double value(std::int64_t i) const;
  // The array as a tensor of `dtype` with each value multiplied by `scale` (float dtypes only scale).
  Tensor to_tensor(DType dtype = DType::Float32, double scale = 1.0) const;
  // Builds an array from a tensor's values converted to `type` (values must be representable).
  static IdxArray from_tensor(const Tensor& tensor, IdxType type);
};

// Reads an IDX file, plain or gzip. Errors name the file, the byte offset and what was expected.
IdxArray read_idx(const std::filesystem::path& path);
// Decodes IDX bytes (plain or gzip) read from `source` (a name used in error messages).
IdxArray decode_idx(std::span<const std::uint8_t> bytes, const std::string& source);
// The plain (uncompressed) IDX encoding of `array`.
std::vector<std::uint8_t> encode_idx(const IdxArray& array);
// Writes `array` to `path`, gzip-compressed when `gzip` is true.
void write_idx(const std::filesystem::path& path, const IdxArray& array, bool gzip);

}  // namespace descent::data
