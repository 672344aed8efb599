#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <cstring>

#include "../../src/data/file_bytes.hpp"
#include "descent/data/idx.hpp"
#include "temp_dir.hpp"

using namespace descent;
using namespace descent::data;
using descent::data::testing::error_message;
using descent::data::testing::TempDir;
using ::testing::HasSubstr;

namespace {

template <class T>
IdxArray make_array(std::vector<std::int64_t> dims, const std::vector<T>& values, IdxType type) {
  IdxArray array;
  array.type = type;
  array.dims = std::move(dims);
  array.bytes.resize(values.size() * sizeof(T));
  std::memcpy(array.bytes.data(), values.data(), array.bytes.size());
  return array;
}

std::string as_string(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

}  // namespace

TEST(Idx, EncodesBigEndianHeaderAndElements) {
  const auto array = make_array<std::int16_t>({2}, {0x0102, -2}, IdxType::Int16);
  const auto bytes = encode_idx(array);
  const std::vector<std::uint8_t> expected{0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE};
  EXPECT_EQ(bytes, expected);
}

class IdxRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(IdxRoundTrip, EveryElementTypeSurvivesWriteAndRead) {
  const bool gzip = GetParam();
  TempDir dir;
  const std::vector<IdxArray> arrays = {
      make_array<std::uint8_t>({2, 3}, {0, 1, 127, 128, 254, 255}, IdxType::UInt8),
      make_array<std::int8_t>({4}, {-128, -1, 0, 127}, IdxType::Int8),
      make_array<std::int16_t>({3}, {-32768, 258, 32767}, IdxType::Int16),
      make_array<std::int32_t>({1, 2, 2}, {-2147483647 - 1, -5, 16909060, 2147483647}, IdxType::Int32),
      make_array<float>({3}, {-1.5f, 0.0f, 3.25e10f}, IdxType::Float32),
      make_array<double>({2, 1}, {1e-300, -2.5}, IdxType::Float64),
  };
  for (const auto& array : arrays) {
    const auto path = dir.file(std::string("a_") + idx_type_name(array.type) + (gzip ? ".gz" : ""));
    write_idx(path, array, gzip);
    const auto raw = file_io::read_file_bytes(path);
    EXPECT_EQ(file_io::is_gzip(raw), gzip);
    const IdxArray back = read_idx(path);
    EXPECT_EQ(back.type, array.type) << idx_type_name(array.type);
    EXPECT_EQ(back.dims, array.dims) << idx_type_name(array.type);
    EXPECT_EQ(back.bytes, array.bytes) << idx_type_name(array.type);
  }
}

INSTANTIATE_TEST_SUITE_P(PlainAndGzip, IdxRoundTrip, ::testing::Values(false, true));

TEST(Idx, CompressionIsDetectedByMagicNotName) {
  TempDir dir;
  const auto array = make_array<std::uint8_t>({3}, {7, 8, 9}, IdxType::UInt8);
  write_idx(dir.file("plain.gz"), array, /*gzip=*/false);  // misleading names on purpose
  write_idx(dir.file("packed.idx"), array, /*gzip=*/true);
  EXPECT_EQ(read_idx(dir.file("plain.gz")).bytes, array.bytes);
  EXPECT_EQ(read_idx(dir.file("packed.idx")).bytes, array.bytes);
}

TEST(Idx, MultiMemberGzipIsConcatenated) {
  const auto plain = encode_idx(make_array<std::uint8_t>({6}, {1, 2, 3, 4, 5, 6}, IdxType::UInt8));
  const std::size_t half = plain.size() / 2;
  auto first = file_io::gzip(std::span(plain).first(half));
  const auto second = file_io::gzip(std::span(plain).subspan(half));
  first.insert(first.end(), second.begin(), second.end());
  const IdxArray back = decode_idx(first, "two-members");
  EXPECT_EQ(back.bytes, (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6}));
}

TEST(Idx, ToTensorConvertsAndScales) {
  const auto array = make_array<std::int16_t>({2, 2}, {-4, 0, 2, 510}, IdxType::Int16);
  EXPECT_EQ(array.to_tensor(DType::Float32, 0.5).to_vector<float>(), (std::vector<float>{-2, 0, 1, 255}));
  EXPECT_EQ(array.to_tensor(DType::Int64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{-4, 0, 2, 510}));
  EXPECT_EQ(array.to_tensor().shape(), (Shape{2, 2}));
  EXPECT_DOUBLE_EQ(array.value(3), 510.0);
  const auto floats = make_array<float>({1}, {1.5f}, IdxType::Float32);
  EXPECT_THAT(error_message([&] { floats.to_tensor(DType::Int64); }), HasSubstr("cannot become int64"));
}

TEST(Idx, FromTensorRejectsUnrepresentableValues) {
  const Tensor t = from_vector(std::vector<float>{1, 300}, Shape{2});
  EXPECT_THAT(error_message([&] { IdxArray::from_tensor(t, IdxType::UInt8); }),
              HasSubstr("value 300 at element 1 is not representable as ubyte"));
  const auto ok = IdxArray::from_tensor(t, IdxType::Int16);
  EXPECT_EQ(ok.to_tensor().to_vector<float>(), (std::vector<float>{1, 300}));
}

// ---- errors: each names the file, the position and what was expected

TEST(IdxErrors, MissingFile) {
  TempDir dir;
  const auto path = dir.file("absent.idx");
  const auto message = error_message([&] { read_idx(path); });
  EXPECT_THAT(message, HasSubstr(path.string()));
  EXPECT_THAT(message, HasSubstr("does not exist"));
}

TEST(IdxErrors, BadMagicNumber) {
  TempDir dir;
  const auto path = dir.write("bad.idx", std::string("\x12\x34\x08\x01\x00\x00\x00\x01\x05", 9));
  const auto message = error_message([&] { read_idx(path); });
  EXPECT_THAT(message, HasSubstr(path.string()));
  EXPECT_THAT(message, HasSubstr("bad magic number 0x12 0x34 0x08 at byte 0"));
  EXPECT_THAT(message, HasSubstr("expected 0x00 0x00 then a type code"));
}

TEST(IdxErrors, UnknownTypeCode) {
  const std::vector<std::uint8_t> bytes{0, 0, 0x0A, 1, 0, 0, 0, 1, 5};
  EXPECT_THAT(error_message([&] { decode_idx(bytes, "t.idx"); }), HasSubstr("bad magic number 0x00 0x00 0x0a"));
}

TEST(IdxErrors, TruncatedData) {
  TempDir dir;
  auto plain = encode_idx(make_array<std::int32_t>({2, 3}, {1, 2, 3, 4, 5, 6}, IdxType::Int32));
  plain.resize(plain.size() - 5);
  const auto path = dir.write("short.idx", as_string(plain));
  const auto message = error_message([&] { read_idx(path); });
  EXPECT_THAT(message, HasSubstr(path.string()));
  EXPECT_THAT(message, HasSubstr("dimensions 2x3 of int need 24 data bytes after the 12-byte header"));
  EXPECT_THAT(message, HasSubstr("holds 19 (truncated)"));
}

TEST(IdxErrors, DimensionsThatDoNotMatchTheLength) {
  auto plain = encode_idx(make_array<std::uint8_t>({4}, {1, 2, 3, 4}, IdxType::UInt8));
  plain.push_back(9);
  EXPECT_THAT(error_message([&] { decode_idx(plain, "long.idx"); }), HasSubstr("holds 5 (trailing bytes)"));
  const std::vector<std::uint8_t> huge{0, 0, 0x0E, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                       0xFF, 0xFF};
  EXPECT_THAT(error_message([&] { decode_idx(huge, "huge.idx"); }), HasSubstr("overflow"));
  // An empty array whose other extents multiply past int64 (found by fuzzing).
  const std::vector<std::uint8_t> empty_but_huge{0, 0, 0x0C, 3, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFB, 0x7F, 0xFF, 0xFF,
                                                 0xFF};
  EXPECT_THAT(error_message([&] { decode_idx(empty_but_huge, "e.idx"); }), HasSubstr("overflow"));
  const std::vector<std::uint8_t> empty{0, 0, 0x0C, 2, 0, 0, 0, 0, 0, 0, 0, 3};
  EXPECT_EQ(decode_idx(empty, "e.idx").to_tensor().shape(), (Shape{0, 3}));
}

TEST(IdxErrors, TruncatedHeader) {
  const std::vector<std::uint8_t> bytes{0, 0, 0x08, 3, 0, 0, 0, 1};
  const auto message = error_message([&] { decode_idx(bytes, "hdr.idx"); });
  EXPECT_THAT(message, HasSubstr("hdr.idx"));
  EXPECT_THAT(message, HasSubstr("3 dimensions need 16 header bytes"));
  EXPECT_THAT(error_message([&] { decode_idx(std::vector<std::uint8_t>{0, 0}, "tiny.idx"); }),
              HasSubstr("2 bytes; expected at least the 4-byte header"));
  EXPECT_THAT(error_message([&] { decode_idx(std::vector<std::uint8_t>{0, 0, 8, 0}, "rank0.idx"); }),
              HasSubstr("dimension count 0 at byte 3"));
}

TEST(IdxErrors, AGzipBombStopsAtTheSizeItsHeaderDeclares) {
  // The header declares 100 bytes; the stream inflates to 64 MiB of zeros after it.
  std::vector<std::uint8_t> plain = encode_idx(make_array<std::uint8_t>({100}, std::vector<std::uint8_t>(100, 1), IdxType::UInt8));
  plain.resize(std::size_t(64) << 20);
  const auto packed = file_io::gzip(plain);
  ASSERT_LT(packed.size(), 200000u);
  const std::string message = error_message([&] { decode_idx(packed, "bomb.gz"); });
  EXPECT_THAT(message, HasSubstr("gzip file 'bomb.gz': inflates to more than the 108 bytes its contents declare"));
  // A bad magic number is reported as soon as the first bytes are inflated.
  plain[0] = 7;
  EXPECT_THAT(error_message([&] { decode_idx(file_io::gzip(plain), "magic.gz"); }), HasSubstr("bad magic number 0x07"));
}

TEST(IdxErrors, TruncatedAndCorruptGzip) {
  TempDir dir;
  std::vector<std::uint8_t> values(5000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::uint8_t(i * 7919 % 251);
  const auto packed = file_io::gzip(encode_idx(make_array<std::uint8_t>({5000}, values, IdxType::UInt8)));

  auto cut = packed;
  cut.resize(packed.size() / 2);
  const auto cut_path = dir.write("cut.gz", as_string(cut));
  auto message = error_message([&] { read_idx(cut_path); });
  EXPECT_THAT(message, HasSubstr(cut_path.string()));
  EXPECT_THAT(message, HasSubstr("truncated"));

  auto corrupt = packed;
  for (std::size_t i = 12; i < corrupt.size() - 8; i += 3) corrupt[i] ^= 0x5A;
  const auto corrupt_path = dir.write("corrupt.gz", as_string(corrupt));
  message = error_message([&] { read_idx(corrupt_path); });
  EXPECT_THAT(message, HasSubstr(corrupt_path.string()));
  EXPECT_THAT(message, ::testing::AnyOf(HasSubstr("corrupt"), HasSubstr("truncated")));

  auto trailing = packed;
  trailing.push_back(0x42);
  EXPECT_THAT(error_message([&] { decode_idx(trailing, "trail.gz"); }),
              HasSubstr("unexpected bytes after the compressed stream"));
}
