#include "file_bytes.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "descent/core/error.hpp"

namespace descent::data::file_io {

namespace {
struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using FileHandle = std::unique_ptr<std::FILE, FileCloser>;

// zlib counts in uInt; feed it at most this many bytes per call.
constexpr std::size_t kZlibChunk = std::size_t(1) << 30;
}  // namespace

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  DESCENT_CHECK(std::filesystem::exists(path, ec), "file '", path.string(), "' does not exist");
  DESCENT_CHECK(!std::filesystem::is_directory(path, ec), "file '", path.string(),
                "' is a directory; expected a regular file");
  FileHandle file(std::fopen(path.c_str(), "rb"));
  DESCENT_CHECK(file != nullptr, "file '", path.string(), "' cannot be opened: ", std::strerror(errno));
  std::vector<std::uint8_t> bytes;
  std::uint8_t buffer[1 << 16];
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec) bytes.reserve(size);
  while (true) {
    const std::size_t got = std::fread(buffer, 1, sizeof buffer, file.get());
    bytes.insert(bytes.end(), buffer, buffer + got);
    if (got < sizeof buffer) break;
  }
  DESCENT_CHECK(!std::ferror(file.get()), "file '", path.string(), "': read error after ", bytes.size(),
                " bytes");
  return bytes;
}

void write_file_bytes(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  FileHandle file(std::fopen(path.c_str(), "wb"));
  DESCENT_CHECK(file != nullptr, "file '", path.string(), "' cannot be created: ", std::strerror(errno));
  const std::size_t written = std::fwrite(bytes.data(), 1, bytes.size(), file.get());
  DESCENT_CHECK(written == bytes.size(), "file '", path.string(), "': wrote ", written, " of ", bytes.size(),
                " bytes");
  DESCENT_CHECK(std::fclose(file.release()) == 0, "file '", path.string(), "': close failed: ",
                std::strerror(errno));
}

bool is_gzip(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> bytes, const std::string& source,
                                 const SizeLimit& size_limit) {
  z_stream stream{};
  // 16 + MAX_WBITS: gzip wrapper only.
  DESCENT_CHECK(inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK, "gzip: cannot initialise zlib for '", source,
                "'");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);

  std::vector<std::uint8_t> out;
  // The gzip trailer ends with the uncompressed size mod 2^32: a good first guess for one member. Deflate
  // expands at most about 1032:1, which bounds the guess when the trailer is garbage.
  std::size_t guess = bytes.size() * 2;
  if (bytes.size() >= 18) {
    const std::uint8_t* tail = bytes.data() + bytes.size() - 4;
    const std::size_t isize = std::size_t(tail[0]) | std::size_t(tail[1]) << 8 | std::size_t(tail[2]) << 16 |
                              std::size_t(tail[3]) << 24;
    guess = std::min(isize + 1, bytes.size() * 1032);
  }
  // The trailer is only a claim: start at no more than 64 MiB and grow by doubling.
  out.resize(std::clamp<std::size_t>(guess, 4096, std::size_t(64) << 20));
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  std::size_t limit = SIZE_MAX;
  while (true) {
    if (size_limit) limit = size_limit(std::span<const std::uint8_t>(out.data(), out_pos));
    DESCENT_CHECK(out_pos <= limit, "gzip file '", source, "': inflates to more than the ", limit,
                  " bytes its contents declare (stopped after ", out_pos, " bytes from ", in_pos, " of ", bytes.size(),
                  " compressed bytes)");
    if (out_pos == out.size()) out.resize(limit == SIZE_MAX ? out.size() * 2 : std::min(out.size() * 2, limit + 1));
    const std::size_t in_chunk = std::min(bytes.size() - in_pos, kZlibChunk);
    // While the limit is unknown, inflate in small steps so it is known as soon as a header is complete;
    // once it is known, never past one byte beyond it.
    std::size_t out_chunk = std::min(out.size() - out_pos, kZlibChunk);
    if (size_limit) out_chunk = std::min(out_chunk, limit == SIZE_MAX ? std::size_t(4096) : limit + 1 - out_pos);
    stream.next_in = const_cast<Bytef*>(bytes.data() + in_pos);
    stream.avail_in = uInt(in_chunk);
    stream.next_out = out.data() + out_pos;
    stream.avail_out = uInt(out_chunk);
    const int status = inflate(&stream, Z_NO_FLUSH);
    in_pos += in_chunk - stream.avail_in;
    out_pos += out_chunk - stream.avail_out;
    if (status == Z_STREAM_END) {
      // A gzip file may hold several members back to back; anything else after the end is corrupt.
      if (in_pos == bytes.size()) {
        if (size_limit) limit = size_limit(std::span<const std::uint8_t>(out.data(), out_pos));
        DESCENT_CHECK(out_pos <= limit, "gzip file '", source, "': inflates to more than the ", limit,
                      " bytes its contents declare");
        break;
      }
      DESCENT_CHECK(bytes.size() - in_pos >= 2 && bytes[in_pos] == 0x1f && bytes[in_pos + 1] == 0x8b,
                    "gzip file '", source, "': unexpected bytes after the compressed stream at byte ", in_pos,
                    "; expected end of file or another gzip member (1f 8b)");
      DESCENT_CHECK(inflateReset(&stream) == Z_OK, "gzip file '", source, "': cannot reset zlib");
      continue;
    }
    DESCENT_CHECK(status == Z_OK || status == Z_BUF_ERROR, "gzip file '", source, "': corrupt data near byte ",
                  in_pos, " (zlib: ", stream.msg ? stream.msg : "error ", stream.msg ? "" : std::to_string(status),
                  ")");
    // No progress with input exhausted: the stream ended early.
    DESCENT_CHECK(!(status == Z_BUF_ERROR && in_pos == bytes.size() && stream.avail_out > 0), "gzip file '",
                  source, "': truncated after ", bytes.size(), " compressed bytes (", out_pos,
                  " bytes decompressed); expected the end of the deflate stream and the gzip trailer");
    DESCENT_CHECK(in_pos < bytes.size() || stream.avail_out == 0, "gzip file '", source, "': truncated after ",
                  bytes.size(), " compressed bytes (", out_pos,
                  " bytes decompressed); expected the end of the deflate stream and the gzip trailer");
  }
  out.resize(out_pos);
  return out;
}

std::vector<std::uint8_t> gzip(std::span<const std::uint8_t> bytes) {
  z_stream stream{};
  DESCENT_CHECK(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                             Z_DEFAULT_STRATEGY) == Z_OK,
                "gzip: cannot initialise zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, deflateEnd);
  std::vector<std::uint8_t> out(deflateBound(&stream, uLong(std::min(bytes.size(), kZlibChunk))) + 64);
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  while (true) {
    if (out.size() - out_pos < 4096) out.resize(out.size() * 2);
    const std::size_t in_chunk = std::min(bytes.size() - in_pos, kZlibChunk);
    const std::size_t out_chunk = std::min(out.size() - out_pos, kZlibChunk);
    stream.next_in = const_cast<Bytef*>(bytes.data() + in_pos);
    stream.avail_in = uInt(in_chunk);
    stream.next_out = out.data() + out_pos;
    stream.avail_out = uInt(out_chunk);
    const bool last = in_pos + in_chunk == bytes.size();
    const int status = deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH);
    in_pos += in_chunk - stream.avail_in;
    out_pos += out_chunk - stream.avail_out;
    if (status == Z_STREAM_END) break;
    DESCENT_CHECK(status == Z_OK || status == Z_BUF_ERROR, "gzip: deflate failed with status ", status);
  }
  out.resize(out_pos);
  return out;
}

}  // namespace descent::data::file_io
