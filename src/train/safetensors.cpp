// safetensors encode/decode with a CRC-32 over header and data, and atomic file writes.
#include "descent/train/safetensors.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

namespace descent::train {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;  // as the safetensors crate

const char* safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::BFloat16: return "BF16";
    case DType::Float16: return "F16";
  }
  return "?";
}

bool parse_safetensors_dtype(const std::string& name, DType& out) {
  if (name == "F32") out = DType::Float32;
  else if (name == "F64") out = DType::Float64;
  else if (name == "I64") out = DType::Int64;
  else if (name == "BF16") out = DType::BFloat16;
  else if (name == "F16") out = DType::Float16;
  else return false;
  return true;
}

std::string crc32_hex(std::string_view header, std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed in chunks so files over 4 GiB are summed whole.
  for (std::string_view part : {header, data}) {
    while (!part.empty()) {
      const std::size_t chunk = std::min<std::size_t>(part.size(), 1u << 30);
      crc = crc32(crc, reinterpret_cast<const Bytef*>(part.data()), uInt(chunk));
      part.remove_prefix(chunk);
    }
  }
  char text[16];
  std::snprintf(text, sizeof text, "%08lx", static_cast<unsigned long>(crc));
  return text;
}

// Header JSON (canonical: nlohmann objects keep their keys sorted) and the concatenated data.
std::pair<json, std::string> layout(const TensorMap& tensors, const StringMap& metadata) {
  json header = json::object();
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    DESCENT_CHECK(name != "__metadata__", "safetensors: a tensor may not be named __metadata__");
    DESCENT_CHECK(tensor.defined(), "safetensors: tensor '", name, "' is undefined");
    const Tensor contiguous = tensor.contiguous_copy();
    const std::size_t bytes = std::size_t(contiguous.numel()) * dtype_size(contiguous.dtype());
    const std::size_t begin = data.size();
    data.append(static_cast<const char*>(contiguous.raw_data()), bytes);
    json shape = json::array();
    for (std::int64_t extent : contiguous.shape()) shape.push_back(extent);
    header[name] = {{"dtype", safetensors_dtype(contiguous.dtype())},
                    {"shape", shape},
                    {"data_offsets", {begin, data.size()}}};
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  return {header, data};
}

std::string assemble(const json& header, const std::string& data) {
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned, as the reference writer does
  std::string out(8, '\0');
  const std::uint64_t length = text.size();
  std::memcpy(out.data(), &length, 8);
  out += text;
  out += data;
  return out;
}

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw Error("safetensors: " + source + ": " + what);
}

}  // namespace

std::string encode_safetensors(const TensorMap& tensors, const StringMap& metadata) {
  DESCENT_CHECK(!metadata.contains(kChecksumKey), "safetensors: metadata key ", kChecksumKey, " is reserved");
  auto [header, data] = layout(tensors, metadata);
  StringMap with_checksum = metadata;
  with_checksum[kChecksumKey] = crc32_hex(header.dump(), data);
  header["__metadata__"] = with_checksum;
  return assemble(header, data);
}

SafetensorsContent decode_safetensors(std::string_view bytes, const std::string& source) {
  if (bytes.size() < 8) fail(source, "file of " + std::to_string(bytes.size()) + " bytes is shorter than the 8-byte header length (truncated?)");
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  if (header_length > kMaxHeaderBytes || header_length > bytes.size() - 8)
    fail(source, "header length " + std::to_string(header_length) + " exceeds the file's remaining " +
                     std::to_string(bytes.size() - 8) + " bytes (truncated or not a safetensors file)");
  const std::string_view header_text = bytes.substr(8, header_length);
  const std::string_view data = bytes.substr(8 + header_length);
  json header;
  try {
    header = json::parse(header_text);
  } catch (const json::exception& e) {
    fail(source, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(source, "header is not a JSON object");

  SafetensorsContent out;
  std::string stored_checksum;
  if (header.contains("__metadata__")) {
    const json& metadata = header["__metadata__"];
    if (!metadata.is_object()) fail(source, "__metadata__ is not an object of strings");
    for (const auto& [key, value] : metadata.items()) {
      if (!value.is_string()) fail(source, "__metadata__ entry '" + key + "' is not a string");
      if (key == kChecksumKey) stored_checksum = value.get<std::string>();
      else out.metadata[key] = value.get<std::string>();
    }
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      fail(source, where + " needs dtype, shape and data_offsets");
    DType dtype{};
    if (!entry["dtype"].is_string() || !parse_safetensors_dtype(entry["dtype"].get<std::string>(), dtype))
      fail(source, where + " has dtype " + entry["dtype"].dump() + " (supported: F32, F64, I64)");
    const json& shape_json = entry["shape"];
    if (!shape_json.is_array() || shape_json.size() > std::size_t(Shape::kMaxDims)) fail(source, where + " has a bad shape " + shape_json.dump());
    std::vector<std::int64_t> extents;
    std::uint64_t numel = 1;
    for (const json& extent : shape_json) {
      if (!extent.is_number_unsigned()) fail(source, where + " has a bad shape " + shape_json.dump());
      const std::uint64_t e = extent.get<std::uint64_t>();
      if (e > (std::uint64_t(1) << 40) || (e != 0 && numel > (std::uint64_t(1) << 56) / e))
        fail(source, where + " has a shape too large: " + shape_json.dump());
      numel *= e;
      extents.push_back(std::int64_t(e));
    }
    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      fail(source, where + " has bad data_offsets " + offsets.dump());
    const std::uint64_t begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    if (begin > end || end > data.size())
      fail(source, where + " has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                       "] outside the " + std::to_string(data.size()) + " data bytes (truncated?)");
    if (end - begin != numel * dtype_size(dtype))
      fail(source, where + " holds " + std::to_string(end - begin) + " bytes, its shape " + shape_json.dump() +
                       " needs " + std::to_string(numel * dtype_size(dtype)));
    ranges.emplace_back(begin, end);
    Tensor tensor = empty(Shape(extents), dtype);
    if (end > begin) std::memcpy(tensor.raw_data(), data.data() + begin, end - begin);
    out.tensors.emplace(name, tensor);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail(source, "tensor data ranges overlap");

  if (!stored_checksum.empty()) {
    json unsigned_header = header;
    auto& metadata = unsigned_header["__metadata__"];
    metadata.erase(kChecksumKey);
    if (metadata.empty()) unsigned_header.erase("__metadata__");
    const std::string actual = crc32_hex(unsigned_header.dump(), data);
    if (actual != stored_checksum)
      fail(source, "checksum mismatch (stored crc32 " + stored_checksum + ", computed " + actual +
                       "): the file is corrupted");
    out.checksum_verified = true;
  }
  return out;
}

std::string read_file_bytes(const std::filesystem::path& path, std::uint64_t limit) {
  std::ifstream in(path, std::ios::binary);
  DESCENT_CHECK(in, "cannot open ", path.string(), ": ", std::strerror(errno));
  std::error_code error;
  const std::uint64_t size = std::filesystem::file_size(path, error);
  DESCENT_CHECK(!error, "cannot read the size of ", path.string(), ": ", error.message());
  DESCENT_CHECK(size <= limit, path.string(), ": the file holds ", size, " bytes, more than the ", limit,
                " this reader accepts");
  std::string bytes;
  try {
    bytes.resize(size);
  } catch (const std::bad_alloc&) {
    throw Error("cannot read " + path.string() + ": not enough memory for its " + std::to_string(size) + " bytes");
  }
  in.read(bytes.data(), std::streamsize(size));
  DESCENT_CHECK(!in.bad() && std::uint64_t(in.gcount()) == size, "error reading ", path.string(), " (",
                in.gcount(), " of ", size, " bytes; did it change while being read?)");
  return bytes;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string temporary_name = ".";
  temporary_name += path.filename().string();
  temporary_name += ".tmp";
  temporary_name += std::to_string(::getpid());
  const std::filesystem::path temporary = folder / temporary_name;
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  DESCENT_CHECK(fd >= 0, "cannot create ", temporary.string(), ": ", std::strerror(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      throw Error("cannot write " + temporary.string() + ": " + std::strerror(error));
    }
    written += std::size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw Error("cannot flush " + temporary.string() + ": " + std::strerror(error));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw Error("cannot rename " + temporary.string() + " to " + path.string() + ": " + std::strerror(error));
  }
  // The rename itself is durable only once the folder's entry is on disk.
  const int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

std::vector<std::filesystem::path> remove_stale_temporaries(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> removed;
  std::error_code error;
  for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    const auto mark = name.rfind(".tmp");
    if (name.size() < 6 || name[0] != '.' || mark == std::string::npos || mark + 4 == name.size()) continue;
    long pid = 0;
    const char* digits = name.c_str() + mark + 4;
    const auto [end_of_number, parse_error] = std::from_chars(digits, name.c_str() + name.size(), pid);
    if (parse_error != std::errc() || end_of_number != name.c_str() + name.size() || pid <= 0) continue;
    // A writer that still runs owns its temporary; kill(pid, 0) fails with ESRCH once it is gone.
    if (pid != long(::getpid()) && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) {
      std::error_code remove_error;
      if (std::filesystem::remove(it->path(), remove_error)) removed.push_back(it->path());
    }
  }
  return removed;
}

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const StringMap& metadata) {
  write_file_atomic(path, encode_safetensors(tensors, metadata));
}

namespace {

// The length and the header, checked against the file's size without reading the data: a file whose
// header is not a safetensors header, or whose tensors end past its size, is refused before its data is read.
json read_checked_header(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::ifstream in(path, std::ios::binary);
  DESCENT_CHECK(in, "cannot open ", source, ": ", std::strerror(errno));
  std::error_code error;
  const std::uint64_t size = std::filesystem::file_size(path, error);
  DESCENT_CHECK(!error, "cannot read the size of ", source, ": ", error.message());
  if (size < 8) fail(source, "file of " + std::to_string(size) + " bytes is shorter than the 8-byte header length (truncated?)");
  std::uint64_t header_length = 0;
  in.read(reinterpret_cast<char*>(&header_length), 8);
  if (header_length > kMaxHeaderBytes || header_length > size - 8)
    fail(source, "header length " + std::to_string(header_length) + " exceeds the file's remaining " +
                     std::to_string(size - 8) + " bytes (truncated or not a safetensors file)");
  std::string header_text(header_length, '\0');
  in.read(header_text.data(), std::streamsize(header_length));
  DESCENT_CHECK(std::uint64_t(in.gcount()) == header_length, "error reading ", source);
  json header = json::parse(header_text, nullptr, false);
  if (header.is_discarded()) fail(source, "header is not valid JSON");
  if (!header.is_object()) fail(source, "header is not a JSON object");
  std::uint64_t data_end = 0;
  for (const auto& [name, entry] : header.items())
    if (name != "__metadata__" && entry.is_object() && entry.contains("data_offsets") && entry["data_offsets"].is_array() &&
        entry["data_offsets"].size() == 2 && entry["data_offsets"][1].is_number_unsigned())
      data_end = std::max(data_end, entry["data_offsets"][1].get<std::uint64_t>());
  if (data_end > size - 8 - header_length)
    fail(source, "its tensors end at data byte " + std::to_string(data_end) + ", past the file's " +
                     std::to_string(size - 8 - header_length) + " data bytes (truncated?)");
  return header;
}

}  // namespace

SafetensorsContent load_safetensors(const std::filesystem::path& path) {
  read_checked_header(path);
  return decode_safetensors(read_file_bytes(path), path.string());
}

StringMap read_safetensors_metadata(const std::filesystem::path& path) {
  const json header = read_checked_header(path);
  StringMap out;
  if (header.contains("__metadata__") && header["__metadata__"].is_object())
    for (const auto& [key, value] : header["__metadata__"].items())
      if (value.is_string()) out[key] = value.get<std::string>();
  return out;
}

}  // namespace descent::train
