// safetensors: round trip, the checksum, refusal of truncated/corrupted files, atomic writes, and a plain
// Python parser (json + struct only) reading the weights back.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "descent/core/rng.hpp"
#include "descent/train/safetensors.hpp"
#include "temp_folder.hpp"

using namespace descent;
using namespace descent::train;

namespace {

TensorMap sample_tensors() {
  Generator gen(3);
  TensorMap tensors;
  tensors["layer.weight"] = randn(Shape{3, 4}, gen);
  tensors["layer.bias"] = randn(Shape{4}, gen, DType::Float64);
  tensors["count"] = from_vector(std::vector<std::int64_t>{7, -1, 1LL << 40}, Shape{3});
  tensors["scalar"] = scalar_tensor(2.5);
  tensors["empty"] = zeros(Shape{0, 5});
  return tensors;
}

void expect_equal_bits(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.dtype(), b.dtype());
  const std::size_t bytes = std::size_t(a.numel()) * dtype_size(a.dtype());
  EXPECT_EQ(0, bytes ? std::memcmp(a.contiguous_copy().raw_data(), b.contiguous_copy().raw_data(), bytes) : 0);
}

}  // namespace

TEST(Safetensors, RoundTripKeepsEveryBitAndTheMetadata) {
  const auto tensors = sample_tensors();
  const std::string bytes = encode_safetensors(tensors, {{"note", "hello \"world\""}});
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  EXPECT_EQ((8 + header_length) % 8, 0u) << "data starts 8-byte aligned";
  const auto decoded = decode_safetensors(bytes, "memory");
  EXPECT_TRUE(decoded.checksum_verified);
  EXPECT_EQ(decoded.metadata.at("note"), "hello \"world\"");
  EXPECT_FALSE(decoded.metadata.contains(kChecksumKey));
  ASSERT_EQ(decoded.tensors.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) expect_equal_bits(decoded.tensors.at(name), tensor);
}

TEST(Safetensors, BFloat16AndFloat16RoundTripAsBF16AndF16) {
  const Tensor x = from_vector<float>({1.0f, -0.3333f, 65504.0f, 1e-6f, 3.0e38f}, Shape{5});
  const std::map<std::string, Tensor> tensors{{"b", x.to(DType::BFloat16)}, {"h", x.to(DType::Float16)}};
  const std::string bytes = encode_safetensors(tensors, {});
  EXPECT_NE(bytes.find("\"dtype\":\"BF16\""), std::string::npos);
  EXPECT_NE(bytes.find("\"dtype\":\"F16\""), std::string::npos);
  const auto decoded = decode_safetensors(bytes, "memory");
  EXPECT_EQ(decoded.tensors.at("b").dtype(), DType::BFloat16);
  EXPECT_EQ(decoded.tensors.at("h").dtype(), DType::Float16);
  for (const auto& [name, tensor] : tensors) expect_equal_bits(decoded.tensors.at(name), tensor);
}

TEST(Safetensors, EveryFlippedDataByteIsCaughtByTheChecksum) {
  const std::string bytes = encode_safetensors(sample_tensors(), {});
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  for (std::size_t i = 8 + header_length; i < bytes.size(); ++i) {
    std::string corrupted = bytes;
    corrupted[i] = char(corrupted[i] ^ 0x10);
    try {
      decode_safetensors(corrupted, "corrupted.safetensors");
      ADD_FAILURE() << "byte " << i << " flipped was not detected";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("checksum mismatch"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("corrupted.safetensors"), std::string::npos) << e.what();
    }
  }
}

TEST(Safetensors, TruncatedFilesAreRefusedAtEveryLength) {
  const std::string bytes = encode_safetensors(sample_tensors(), {});
  for (std::size_t length = 0; length < bytes.size(); length += 7)
    EXPECT_THROW(decode_safetensors(bytes.substr(0, length), "cut"), Error) << "length " << length;
}

TEST(Safetensors, MalformedHeadersNameTheProblem) {
  auto with_header = [](const std::string& header, const std::string& data = "") {
    std::string out(8, '\0');
    const std::uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    return out + header + data;
  };
  auto message = [](const std::string& bytes) {
    try {
      decode_safetensors(bytes, "f");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(with_header("{not json")).find("not valid JSON"), std::string::npos);
  EXPECT_NE(message(with_header(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", "x")).find("F8_E4M3"), std::string::npos);
  EXPECT_NE(message(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "xxxx")).find("needs 8"), std::string::npos);
  EXPECT_NE(message(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", "xxxx")).find("outside"), std::string::npos);
  EXPECT_NE(message(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})", "xxxxxx")).find("overlap"), std::string::npos);
  EXPECT_NE(message(with_header(R"({"__metadata__":{"k":1}})")).find("not a string"), std::string::npos);
  std::string huge(8, '\0');
  const std::uint64_t n = 1ull << 60;
  std::memcpy(huge.data(), &n, 8);
  EXPECT_NE(message(huge).find("header length"), std::string::npos);
  // A file from another writer, without descent's checksum, loads unverified.
  const auto plain = decode_safetensors(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "abcd"), "f");
  EXPECT_FALSE(plain.checksum_verified);
}

TEST(Safetensors, AFailedWriteLeavesThePreviousFileInPlace) {
  TempFolder folder;
  const auto path = folder.path() / "weights.safetensors";
  const auto tensors = sample_tensors();
  save_safetensors(path, tensors, {{"version", "1"}});
  // Make the temporary file impossible to create (a folder holds its name): the write fails with an
  // error naming it, and the good file is untouched.
  const auto blocker = folder.path() / (".weights.safetensors.tmp" + std::to_string(::getpid()));
  std::filesystem::create_directory(blocker);
  EXPECT_THROW(save_safetensors(path, {}, {{"version", "2"}}), Error);
  std::filesystem::remove(blocker);
  EXPECT_EQ(load_safetensors(path).metadata.at("version"), "1");
  // No temporary file is left behind by a successful write either.
  save_safetensors(path, tensors, {{"version", "3"}});
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder.path())) files += entry.is_regular_file();
  EXPECT_EQ(files, 1u);
  EXPECT_EQ(load_safetensors(path).metadata.at("version"), "3");
}

// /usr/bin/python3 with json and struct only (no torch, no safetensors package) reads the file the way
// the format describes it; the values it prints are compared exactly.
TEST(Safetensors, APlainPythonParserReadsTheWeights) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  TempFolder folder;
  const auto file = folder.path() / "w.safetensors";
  const auto tensors = sample_tensors();
  save_safetensors(file, tensors, {{"config", "x = 1"}});
  const auto script = folder.path() / "read.py";
  std::ofstream(script) << R"(import json, struct, sys
data = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', data[:8])
header = json.loads(data[8:8 + n])
base = 8 + n
out = {'__metadata__': header.pop('__metadata__', {})}
for name, entry in header.items():
    begin, end = entry['data_offsets']
    code = {'F32': 'f', 'F64': 'd', 'I64': 'q'}[entry['dtype']]
    count = (end - begin) // struct.calcsize(code)
    out[name] = {'shape': entry['shape'], 'values': list(struct.unpack('<%d%s' % (count, code), data[base + begin:base + end]))}
json.dump(out, open(sys.argv[2], 'w'))
)";
  const auto result_file = folder.path() / "out.json";
  const std::string command = "/usr/bin/python3 " + script.string() + " " + file.string() + " " + result_file.string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const auto parsed = nlohmann::json::parse(std::ifstream(result_file));
  EXPECT_EQ(parsed["__metadata__"]["config"], "x = 1");
  for (const auto& [name, tensor] : tensors) {
    ASSERT_TRUE(parsed.contains(name)) << name;
    EXPECT_EQ(parsed[name]["shape"].get<std::vector<std::int64_t>>(), tensor.shape().to_vector()) << name;
    if (tensor.dtype() == DType::Int64) {
      EXPECT_EQ(parsed[name]["values"].get<std::vector<std::int64_t>>(), tensor.to_vector<std::int64_t>()) << name;
    } else {  // Python floats are doubles: float32 values convert exactly
      EXPECT_EQ(parsed[name]["values"].get<std::vector<double>>(), tensor.to_vector<double>()) << name;
    }
  }
}
