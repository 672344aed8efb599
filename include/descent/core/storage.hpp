#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "descent/core/dtype.hpp"

namespace descent {

enum class Device : std::uint8_t { CPU, CUDA };

// A block of memory shared by a tensor and its views. `version` counts in-place writes so that autograd
// can refuse to differentiate through a tensor that was modified after it was saved.
class Storage {
 public:
  // Allocates `bytes` from the caching allocator (uninitialised).
  explicit Storage(std::size_t bytes);
  // Wraps memory owned elsewhere; `keep_alive` holds its owner.
  Storage(void* data, std::size_t bytes, std::shared_ptr<void> keep_alive);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return bytes_; }
  Device device() const { return Device::CPU; }
  std::uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  bool owned_ = false;
  std::uint64_t version_ = 0;
  std::shared_ptr<void> keep_alive_;
};

}  // namespace descent
