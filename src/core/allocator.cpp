#include "descent/core/allocator.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <atomic>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace descent {

namespace {
constexpr std::size_t kHugePage = std::size_t(2) << 20;
}

// A test-and-test-and-set spin lock: the critical sections are a few loads and stores, far shorter than
// a futex round trip, and this lock is taken twice for every tensor a training step creates.
class SpinLock {
 public:
  // The x86 pause hint while spinning; other targets (the single-threaded WebAssembly build) just retry.
  static void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  void lock() {
    while (flag_.exchange(true, std::memory_order_acquire)) {
      while (flag_.load(std::memory_order_relaxed)) spin_pause();
    }
  }
  void unlock() { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

// Free lists indexed by size class: classes up to 512 bytes are multiples of 64 (8 lists), larger ones
// are 8 steps per power of two.
constexpr std::size_t kSmallClasses = 8;
constexpr std::size_t kClassCount = kSmallClasses + 9 * 64;

std::size_t class_index(std::size_t size) {
  if (size <= 512) return size / 64 - 1;
  const int top = std::bit_width(size) - 1;  // size in [2^top, 2^(top+1)]
  const std::size_t step = (std::size_t(1) << top) / 8;
  const std::size_t sub = (size - (std::size_t(1) << top)) / step;  // 0..8
  return kSmallClasses + std::size_t(top - 9) * 9 + sub;
}

struct CachingAllocator::Impl {
  SpinLock mutex;
  std::vector<std::vector<void*>> free_lists = std::vector<std::vector<void*>>(kClassCount);
  AllocatorStats stats;
};

CachingAllocator& CachingAllocator::instance() {
  static CachingAllocator allocator;
  return allocator;
}

CachingAllocator::Impl* CachingAllocator::impl() {
  // Never destroyed: storages released during static destruction still find it.
  static Impl* impl = new Impl();
  return impl;
}

std::size_t CachingAllocator::size_class(std::size_t bytes) {
  if (bytes <= 512) return std::max<std::size_t>(64, (bytes + 63) & ~std::size_t(63));
  const std::size_t top = std::bit_floor(bytes);
  const std::size_t step = top / 8;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(std::size_t bytes) {
  const std::size_t size = size_class(bytes);
  Impl* state = impl();
  {
    std::lock_guard lock(state->mutex);
    ++state->stats.allocations;
    auto& list = state->free_lists[class_index(size)];
    if (!list.empty()) {
      void* ptr = list.back();
      list.pop_back();
      ++state->stats.cache_hits;
      state->stats.bytes_cached -= size;
      state->stats.bytes_in_use += size;
      state->stats.peak_bytes_in_use = std::max(state->stats.peak_bytes_in_use, state->stats.bytes_in_use);
      return ptr;
    }
  }
  const std::size_t alignment = size >= kHugePage ? kHugePage : 64;
  const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
  void* ptr = std::aligned_alloc(alignment, rounded);
  if (ptr == nullptr) {
    empty_cache();
    ptr = std::aligned_alloc(alignment, rounded);
    if (ptr == nullptr) throw std::bad_alloc();
  }
  if (size >= kHugePage) madvise(ptr, rounded, MADV_HUGEPAGE);
  std::lock_guard lock(state->mutex);
  state->stats.bytes_in_use += size;
  state->stats.peak_bytes_in_use = std::max(state->stats.peak_bytes_in_use, state->stats.bytes_in_use);
  return ptr;
}

void CachingAllocator::deallocate(void* ptr, std::size_t bytes) {
  if (ptr == nullptr) return;
  const std::size_t size = size_class(bytes);
  Impl* state = impl();
  std::lock_guard lock(state->mutex);
  state->free_lists[class_index(size)].push_back(ptr);
  state->stats.bytes_in_use -= size;
  state->stats.bytes_cached += size;
}

void CachingAllocator::empty_cache() {
  Impl* state = impl();
  std::lock_guard lock(state->mutex);
  for (auto& list : state->free_lists) {
    for (void* ptr : list) std::free(ptr);
    list.clear();
  }
  state->stats.bytes_cached = 0;
}

AllocatorStats CachingAllocator::stats() const {
  Impl* state = const_cast<CachingAllocator*>(this)->impl();
  std::lock_guard lock(state->mutex);
  return state->stats;
}

}  // namespace descent
