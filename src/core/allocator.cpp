#include "descent/core/allocator.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace descent {

namespace {
constexpr std::size_t kHugePage = std::size_t(2) << 20;
}

struct CachingAllocator::Impl {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_lists;
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
    auto it = state->free_lists.find(size);
    if (it != state->free_lists.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
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
  state->free_lists[size].push_back(ptr);
  state->stats.bytes_in_use -= size;
  state->stats.bytes_cached += size;
}

void CachingAllocator::empty_cache() {
  Impl* state = impl();
  std::lock_guard lock(state->mutex);
  for (auto& [size, list] : state->free_lists) {
    for (void* ptr : list) std::free(ptr);
    state->stats.bytes_cached -= size * list.size();
    list.clear();
  }
}

AllocatorStats CachingAllocator::stats() const {
  Impl* state = const_cast<CachingAllocator*>(this)->impl();
  std::lock_guard lock(state->mutex);
  return state->stats;
}

}  // namespace descent
