#include "descent/core/storage.hpp"

#include "descent/core/allocator.hpp"

namespace descent {

Storage::Storage(std::size_t bytes)
    : data_(CachingAllocator::instance().allocate(bytes)), bytes_(bytes), owned_(true) {}

Storage::Storage(void* data, std::size_t bytes, std::shared_ptr<void> keep_alive)
    : data_(data), bytes_(bytes), owned_(false), keep_alive_(std::move(keep_alive)) {}

Storage::~Storage() {
  if (owned_) CachingAllocator::instance().deallocate(data_, bytes_);
}

}  // namespace descent
