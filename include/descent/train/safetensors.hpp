#pragma once
// safetensors files (the Hugging Face format, readable by PyTorch and `safetensors`):
//   8-byte little-endian header length N, N bytes of JSON
//     {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//      "__metadata__": {"<key>": "<string>", ...}}
//   then the raw little-endian tensor data, offsets relative to the end of the header.
// descent adds one metadata entry, "descent.crc32": the CRC-32 (zlib) of the header written without that
// entry followed by the data, so a truncated or corrupted file is refused on load. Files without it (from
// other tools) load unverified. Writes are atomic: temporary file, fsync, rename, fsync of the folder; a
// failed or interrupted write leaves the previous file in place.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::train {

using TensorMap = std::map<std::string, Tensor>;
using StringMap = std::map<std::string, std::string>;

struct SafetensorsContent {
  TensorMap tensors;
  StringMap metadata;  // without "descent.crc32"
  bool checksum_verified = false;
};

inline constexpr const char* kChecksumKey = "descent.crc32";

// The file's bytes, with the checksum entry added to the metadata.
std::string encode_safetensors(const TensorMap& tensors, const StringMap& metadata);
// Parses and validates a whole file held in memory; `source` names it in errors. Throws descent::Error
// for anything malformed (short file, bad header length, bad JSON, unknown dtype, offsets out of range or
// overlapping, a size that does not match the shape, non-string metadata, a checksum mismatch).
SafetensorsContent decode_safetensors(std::string_view bytes, const std::string& source);

// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename, fsync folder).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
// Removes the temporaries (".NAME.tmpPID") that write_file_atomic left in `folder` when its process was
// killed between create and rename, those whose process is gone; returns what it removed.
std::vector<std::filesystem::path> remove_stale_temporaries(const std::filesystem::path& folder);
// The whole file, read at its size in one allocation; an Error naming the file when it cannot be read or
// holds more than `limit` bytes (or when memory for it runs out).
std::string read_file_bytes(const std::filesystem::path& path, std::uint64_t limit = UINT64_MAX);

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const StringMap& metadata);
// Reads the 8-byte length and the header first and checks them against the file's size, so a junk or
// truncated file is refused without reading its data; then reads and decodes the whole file.
SafetensorsContent load_safetensors(const std::filesystem::path& path);
// The header's metadata only (no data read, no checksum verified): for choosing among files cheaply.
StringMap read_safetensors_metadata(const std::filesystem::path& path);

}  // namespace descent::train
