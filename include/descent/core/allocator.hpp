#pragma once
// A caching host allocator: freed blocks go back to per-size free lists and are handed out again, so a
// training step that allocates the same temporaries each time touches no fresh pages after warm-up.
#include <cstddef>
#include <cstdint>

namespace descent {

struct AllocatorStats {
  std::uint64_t allocations = 0;      // calls to allocate()
  std::uint64_t cache_hits = 0;       // served from a free list
  std::size_t bytes_in_use = 0;       // handed out and not yet freed
  std::size_t bytes_cached = 0;       // held in free lists
  std::size_t peak_bytes_in_use = 0;
};

class CachingAllocator {
 public:
  static CachingAllocator& instance();

  // 64-byte aligned block of at least `bytes` bytes; blocks of 2 MiB and more are 2 MiB aligned and
  // advised for transparent huge pages.
  void* allocate(std::size_t bytes);
  void deallocate(void* ptr, std::size_t bytes);
  // Returns cached blocks to the system.
  void empty_cache();
  AllocatorStats stats() const;

  // The size class a request of `bytes` is rounded up to (at most 12.5% larger).
  static std::size_t size_class(std::size_t bytes);

 private:
  CachingAllocator() = default;
  struct Impl;
  Impl* impl();
};

}  // namespace descent
