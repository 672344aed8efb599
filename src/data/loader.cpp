#include "descent/data/loader.hpp"

#include <numeric>
#include <utility>

#include "descent/core/error.hpp"

namespace descent::data {

namespace {
// Streams of Generator(seed).fork(...): even for an epoch's shuffle, odd for its augmentation.
Generator shuffle_generator(std::uint64_t seed, std::int64_t epoch) {
  return Generator(seed).fork(2 * std::uint64_t(epoch));
}
Generator augmentation_generator(std::uint64_t seed, std::int64_t epoch, std::int64_t batch) {
  return Generator(seed).fork(2 * std::uint64_t(epoch) + 1).fork(std::uint64_t(batch));
}
}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  DESCENT_CHECK(dataset_ != nullptr, "DataLoader: no dataset given");
  DESCENT_CHECK(options_.batch_size > 0, "DataLoader: batch_size = ", options_.batch_size, "; expected > 0");
  DESCENT_CHECK(options_.prefetch >= 0, "DataLoader: prefetch = ", options_.prefetch,
                "; expected >= 0 (0 loads on the caller's thread)");
}

std::int64_t DataLoader::batches_per_epoch() const {
  const std::int64_t n = dataset_->size(), b = options_.batch_size;
  return options_.drop_last ? n / b : n / b + (n % b != 0);  // no overflow for a batch_size near INT64_MAX
}

std::vector<std::int64_t> DataLoader::epoch_order(std::int64_t epoch) const {
  DESCENT_CHECK(epoch >= 0, "DataLoader: epoch ", epoch, "; expected >= 0");
  std::vector<std::int64_t> order(std::size_t(dataset_->size()));
  std::iota(order.begin(), order.end(), 0);
  if (options_.shuffle) {
    Generator gen = shuffle_generator(options_.seed, epoch);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen.below(i)]);
  }
  return order;
}

Batch DataLoader::make_batch(const std::vector<std::int64_t>& order, std::int64_t epoch, std::int64_t index) const {
  const std::int64_t begin = index * options_.batch_size;
  const std::int64_t end = std::min<std::int64_t>(begin + options_.batch_size, std::int64_t(order.size()));
  DESCENT_CHECK(index >= 0 && begin < end, "DataLoader: batch ", index, " outside the epoch's ",
                batches_per_epoch(), " batches");
  Batch batch = dataset_->get_batch(std::span<const std::int64_t>(order.data() + begin, std::size_t(end - begin)));
  batch.index = index;
  if (options_.transform) {
    Generator gen = augmentation_generator(options_.seed, epoch, index);
    options_.transform(batch, gen);
  }
  return batch;
}

EpochReader DataLoader::epoch(std::int64_t epoch, std::int64_t start_batch) const {
  return EpochReader(*this, epoch, start_batch);
}

EpochReader::EpochReader(const DataLoader& loader, std::int64_t epoch, std::int64_t start_batch)
    : loader_(loader), epoch_(epoch), next_batch_(start_batch), end_batch_(loader.batches_per_epoch()) {
  DESCENT_CHECK(start_batch >= 0 && start_batch <= end_batch_, "DataLoader: start batch ", start_batch,
                "; expected 0 to ", end_batch_, " (batches per epoch)");
  order_ = loader_.epoch_order(epoch);
  if (loader_.options().prefetch > 0 && next_batch_ < end_batch_) producer_ = std::thread([this] { produce(); });
}

EpochReader::~EpochReader() {
  if (producer_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    producer_.join();
  }
}

void EpochReader::produce() {
  const auto depth = std::size_t(loader_.options().prefetch);
  for (std::int64_t index = next_batch_; index < end_batch_; ++index) {
    std::optional<Batch> batch;
    std::exception_ptr failure;
    try {
      batch = loader_.make_batch(order_, epoch_, index);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      // Handed over after the catch block has ended, so only the consumer touches the exception from here.
      std::lock_guard lock(mutex_);
      error_ = std::move(failure);
      producer_done_ = true;
      changed_.notify_all();
      return;
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stop_ || queue_.size() < depth; });
    if (stop_) return;
    queue_.push_back(std::move(*batch));
    changed_.notify_all();
  }
  std::lock_guard lock(mutex_);
  producer_done_ = true;
  changed_.notify_all();
}

std::optional<Batch> EpochReader::next() {
  if (!producer_.joinable()) {
    if (next_batch_ >= end_batch_) return std::nullopt;
    return loader_.make_batch(order_, epoch_, next_batch_++);
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || producer_done_; });
  if (!queue_.empty()) {
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    ++next_batch_;
    changed_.notify_all();
    return batch;
  }
  if (error_) {
    auto error = std::exchange(error_, nullptr);
    std::rethrow_exception(error);
  }
  return std::nullopt;
}

}  // namespace descent::data
