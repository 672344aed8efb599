#pragma once
// Whole-file reads and writes, and gzip in memory (zlib), for the dataset readers.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace descent::data::file_io {

// The file's bytes; throws descent::Error naming the file when it is missing or unreadable.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);
void write_file_bytes(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

// Whether the bytes start with the gzip magic number 1f 8b.
bool is_gzip(std::span<const std::uint8_t> bytes);
// Inflates every gzip member in `bytes`; throws naming `source` and the compressed byte offset when the
// stream is corrupt or truncated.
std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> bytes, const std::string& source);
std::vector<std::uint8_t> gzip(std::span<const std::uint8_t> bytes);

}  // namespace descent::data::file_io
