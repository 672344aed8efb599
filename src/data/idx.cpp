#include "descent/data/idx.hpp"

#include <cstdint>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "descent/core/error.hpp"
#include "file_bytes.hpp"

namespace descent::data {

namespace {

constexpr std::size_t kHeaderBytes = 4;
constexpr const char* kTypeList = "0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double";

bool valid_type_code(std::uint8_t code) {
  switch (code) {
    case 0x08: case 0x09: case 0x0B: case 0x0C: case 0x0D: case 0x0E: return true;
    default: return false;
  }
}

std::string hex_byte(std::uint8_t b) {
  static constexpr char digits[] = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

std::string dims_string(const std::vector<std::int64_t>& dims) {
  std::ostringstream out;
  for (std::size_t i = 0; i < dims.size(); ++i) out << (i ? "x" : "") << dims[i];
  return out.str();
}

std::uint32_t read_be32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | std::uint32_t(p[3]);
}

// Reverses each element's bytes in place when the host is little-endian (IDX is big-endian).
void swap_to_host(std::uint8_t* data, std::size_t count, std::size_t width) {
  if constexpr (std::endian::native == std::endian::big) return;
  if (width == 1) return;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint8_t* element = data + i * width;
    for (std::size_t a = 0, b = width - 1; a < b; ++a, --b) std::swap(element[a], element[b]);
  }
}

template <class T>
T load(const std::uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

// Calls fn(T{}) with the C++ type of an IDX element type.
template <class Fn>
decltype(auto) dispatch_idx(IdxType type, Fn&& fn) {
  switch (type) {
    case IdxType::UInt8: return fn(std::uint8_t{});
    case IdxType::Int8: return fn(std::int8_t{});
    case IdxType::Int16: return fn(std::int16_t{});
    case IdxType::Int32: return fn(std::int32_t{});
    case IdxType::Float32: return fn(float{});
    case IdxType::Float64: return fn(double{});
  }
  throw Error(detail::concat("IDX: unknown element type code ", int(type), "; expected one of ", kTypeList));
}

}  // namespace

const char* idx_type_name(IdxType type) {
  switch (type) {
    case IdxType::UInt8: return "ubyte";
    case IdxType::Int8: return "byte";
    case IdxType::Int16: return "short";
    case IdxType::Int32: return "int";
    case IdxType::Float32: return "float";
    case IdxType::Float64: return "double";
  }
  return "?";
}

std::size_t idx_type_size(IdxType type) {
  return dispatch_idx(type, [](auto value) { return sizeof(value); });
}

std::int64_t IdxArray::numel() const {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

double IdxArray::value(std::int64_t i) const {
  DESCENT_CHECK(i >= 0 && i < numel(), "IdxArray::value: index ", i, " outside [0, ", numel(), ")");
  return dispatch_idx(type, [&](auto zero) {
    using T = decltype(zero);
    return double(load<T>(bytes.data() + std::size_t(i) * sizeof(T)));
  });
}

Tensor IdxArray::to_tensor(DType dtype, double scale) const {
  DESCENT_CHECK(dims.size() <= std::size_t(Shape::kMaxDims), "IdxArray::to_tensor: ", dims.size(),
                " dimensions; a tensor holds at most ", Shape::kMaxDims);
  if (is_low_precision(dtype)) return to_tensor(DType::Float32, scale).to(dtype);  // rounded once, from float32
  Tensor out = empty(Shape(dims), dtype);
  const std::int64_t n = numel();
  dispatch_idx(type, [&](auto zero) {
    using T = decltype(zero);
    const std::uint8_t* src = bytes.data();
    auto convert = [&](auto* dst) {
      using D = std::remove_pointer_t<decltype(dst)>;
      if constexpr (std::is_floating_point_v<D>) {
        const D factor = D(scale);
        for (std::int64_t i = 0; i < n; ++i) dst[i] = D(load<T>(src + i * sizeof(T))) * factor;
      } else {
        DESCENT_CHECK(scale == 1.0, "IdxArray::to_tensor: scale ", scale, " applies to float dtypes only");
        for (std::int64_t i = 0; i < n; ++i) dst[i] = D(load<T>(src + i * sizeof(T)));
      }
    };
    switch (dtype) {
      case DType::Float32: convert(out.data<float>()); break;
      case DType::Float64: convert(out.data<double>()); break;
      case DType::Int64:
        if constexpr (std::is_floating_point_v<T>) {
          throw Error(detail::concat("IdxArray::to_tensor: ", idx_type_name(type),
                                     " elements cannot become int64 exactly; expected float32 or float64"));
        } else {
          convert(out.data<std::int64_t>());
        }
        break;
      case DType::BFloat16:
      case DType::Float16: break;  // converted from float32 above
    }
  });
  return out;
}

IdxArray IdxArray::from_tensor(const Tensor& tensor, IdxType type) {
  IdxArray array;
  array.type = type;
  array.dims = tensor.shape().to_vector();
  DESCENT_CHECK(!array.dims.empty(), "IdxArray::from_tensor: IDX needs at least one dimension, got a scalar");
  const auto values = tensor.to_vector<double>();
  dispatch_idx(type, [&](auto zero) {
    using T = decltype(zero);
    array.bytes.resize(values.size() * sizeof(T));
    for (std::size_t i = 0; i < values.size(); ++i) {
      if constexpr (std::is_integral_v<T>) {
        // The range first: converting an out-of-range double to T is undefined behaviour.
        DESCENT_CHECK(values[i] >= double(std::numeric_limits<T>::min()) &&
                          values[i] < double(std::numeric_limits<T>::max()) + 1.0 && values[i] == std::floor(values[i]),
                      "IdxArray::from_tensor: value ", values[i], " at element ", i, " is not representable as ",
                      idx_type_name(type));
      }
      const T value = T(values[i]);
      std::memcpy(array.bytes.data() + i * sizeof(T), &value, sizeof(T));
    }
  });
  return array;
}

namespace {

// Checks the magic number and the dimension count once the first four bytes are there.
void check_idx_start(std::span<const std::uint8_t> bytes, const std::string& where) {
  DESCENT_CHECK(bytes[0] == 0 && bytes[1] == 0 && valid_type_code(bytes[2]), where, ": bad magic number ",
                hex_byte(bytes[0]), " ", hex_byte(bytes[1]), " ", hex_byte(bytes[2]),
                " at byte 0; expected 0x00 0x00 then a type code (", kTypeList, ")");
  DESCENT_CHECK(bytes[3] >= 1, where, ": dimension count 0 at byte 3; expected at least 1");
}

}  // namespace

IdxArray decode_idx(std::span<const std::uint8_t> bytes, const std::string& source) {
  std::vector<std::uint8_t> inflated;
  const bool compressed = file_io::is_gzip(bytes);
  const std::string where =
      "IDX file '" + source + "'" + (compressed ? " (gzip; byte offsets are in the decompressed data)" : "");
  if (compressed) {
    // The header bounds the whole file: inflate no more than it declares (a gzip bomb stops early).
    inflated = file_io::gunzip(bytes, source, [&where](std::span<const std::uint8_t> head) -> std::size_t {
      if (head.size() < kHeaderBytes) return SIZE_MAX;
      check_idx_start(head, where);
      const std::size_t rank = head[3];
      if (head.size() < kHeaderBytes + 4 * rank) return SIZE_MAX;
      std::size_t total = idx_type_size(IdxType(head[2]));
      for (std::size_t d = 0; d < rank; ++d)
        DESCENT_CHECK(!__builtin_mul_overflow(total, std::size_t(read_be32(head.data() + kHeaderBytes + 4 * d)), &total),
                      where, ": its dimensions overflow the address space");
      return kHeaderBytes + 4 * rank + total;
    });
    bytes = inflated;
  }
  DESCENT_CHECK(bytes.size() >= kHeaderBytes, where, ": ", bytes.size(),
                " bytes; expected at least the 4-byte header (0x00 0x00, type code, dimension count)");
  check_idx_start(bytes, where);
  IdxArray array;
  array.type = IdxType(bytes[2]);
  const std::size_t rank = bytes[3];
  const std::size_t data_offset = kHeaderBytes + 4 * rank;
  DESCENT_CHECK(bytes.size() >= data_offset, where, ": truncated header: ", bytes.size(), " bytes, but ", rank,
                " dimensions need ", data_offset, " header bytes");
  const std::size_t width = idx_type_size(array.type);
  // The extents' product must fit in int64 even when one extent is 0 (an empty array), because tensor
  // shapes multiply them in any order.
  std::int64_t nonzero_bytes = std::int64_t(width);
  bool overflow = false, empty = false;
  for (std::size_t d = 0; d < rank; ++d) {
    const std::uint32_t extent = read_be32(bytes.data() + kHeaderBytes + 4 * d);
    array.dims.push_back(extent);
    empty = empty || extent == 0;
    if (extent != 0) overflow = overflow || __builtin_mul_overflow(nonzero_bytes, extent, &nonzero_bytes);
  }
  const std::size_t expected = empty ? 0 : std::size_t(nonzero_bytes);
  DESCENT_CHECK(!overflow, where, ": dimensions ", dims_string(array.dims), " of ", idx_type_name(array.type),
                " overflow the address space");
  const std::size_t payload = bytes.size() - data_offset;
  DESCENT_CHECK(payload == expected, where, ": dimensions ", dims_string(array.dims), " of ",
                idx_type_name(array.type), " need ", expected, " data bytes after the ", data_offset,
                "-byte header, but the file holds ", payload,
                payload < expected ? " (truncated)" : " (trailing bytes)");
  array.bytes.assign(bytes.begin() + std::ptrdiff_t(data_offset), bytes.end());
  swap_to_host(array.bytes.data(), payload / width, width);
  return array;
}

IdxArray read_idx(const std::filesystem::path& path) {
  const auto bytes = file_io::read_file_bytes(path);
  return decode_idx(bytes, path.string());
}

std::vector<std::uint8_t> encode_idx(const IdxArray& array) {
  const std::size_t width = idx_type_size(array.type);
  DESCENT_CHECK(!array.dims.empty() && array.dims.size() <= 255, "encode_idx: ", array.dims.size(),
                " dimensions; IDX holds 1 to 255");
  for (auto d : array.dims)
    DESCENT_CHECK(d >= 0 && d <= std::int64_t(std::numeric_limits<std::uint32_t>::max()), "encode_idx: extent ",
                  d, " outside the 32-bit range IDX stores");
  DESCENT_CHECK(array.bytes.size() == std::size_t(array.numel()) * width, "encode_idx: ", array.bytes.size(),
                " data bytes for dimensions ", dims_string(array.dims), " of ", idx_type_name(array.type),
                "; expected ", std::size_t(array.numel()) * width);
  const std::size_t start = kHeaderBytes + 4 * array.dims.size();
  std::vector<std::uint8_t> out(start + array.bytes.size());
  out[0] = 0;
  out[1] = 0;
  out[2] = std::uint8_t(array.type);
  out[3] = std::uint8_t(array.dims.size());
  for (std::size_t d = 0; d < array.dims.size(); ++d) {
    const auto extent = std::uint32_t(array.dims[d]);
    for (std::size_t b = 0; b < 4; ++b) out[kHeaderBytes + 4 * d + b] = std::uint8_t(extent >> (24 - 8 * b));
  }
  if (!array.bytes.empty()) std::memcpy(out.data() + start, array.bytes.data(), array.bytes.size());
  swap_to_host(out.data() + start, array.bytes.size() / width, width);  // host order back to big-endian
  return out;
}

void write_idx(const std::filesystem::path& path, const IdxArray& array, bool gzip) {
  const auto plain = encode_idx(array);
  if (gzip) {
    file_io::write_file_bytes(path, file_io::gzip(plain));
  } else {
    file_io::write_file_bytes(path, plain);
  }
}

}  // namespace descent::data
