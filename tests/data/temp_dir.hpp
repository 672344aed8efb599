#pragma once
// A fresh directory under the system temp folder, removed with its contents at the end of the test.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace descent::data::testing {

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::random_device entropy;
    path_ = std::filesystem::temp_directory_path() /
            ("descent-data-" + std::string(info ? info->name() : "test") + "-" + std::to_string(entropy()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

  std::filesystem::path write(const std::string& name, const std::string& contents) const {
    const auto target = file(name);
    std::ofstream out(target, std::ios::binary);
    out << contents;
    return target;
  }

 private:
  std::filesystem::path path_;
};

// Runs `fn`, expects descent::Error, and returns its message ("" and a test failure otherwise).
template <class Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const descent::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected descent::Error";
  return "";
}

}  // namespace descent::data::testing
