#pragma once
// Whole-file reads and writes, and gzip in memory (zlib), for the dataset readers.
#include <cstdint>
#include <filesystem>
#include <functional>
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
// stream is corrupt or truncated. `size_limit`, given the bytes inflated so far, returns the most the
// whole output may hold (SIZE_MAX while it cannot tell yet, e.g. before a format's header is complete);
// inflating stops with an error naming `source` as soon as the output would exceed it, so a file that
// claims little and inflates to gigabytes (a gzip bomb) costs no more memory than the format allows.
using SizeLimit = std::function<std::size_t(std::span<const std::uint8_t> inflated)>;
std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> bytes, const std::string& source,
                                 const SizeLimit& size_limit = {});
std::vector<std::uint8_t> gzip(std::span<const std::uint8_t> bytes);

}  // namespace descent::data::file_io
