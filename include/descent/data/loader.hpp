#pragma once
// DataLoader: batches of a Dataset in a seeded order. The order of epoch k is a pure function of (seed, k),
// so a resumed run that starts epoch k at batch b sees exactly the batches it would have seen. With
// prefetch > 0 a background thread fills a bounded queue so loading overlaps compute; the batches are
// identical either way.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/data/dataset.hpp"

namespace descent::data {

// Changes a batch in place (augmentation). `gen` is derived from (seed, epoch, batch index) only.
using BatchTransform = std::function<void(Batch& batch, Generator& gen)>;

struct DataLoaderOptions {
  std::int64_t batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;     // drop the last batch when it is smaller than batch_size
  std::int64_t prefetch = 2;  // batches prepared ahead on a background thread; 0: on the caller's thread
  BatchTransform transform = nullptr;  // optional
};

class EpochReader;

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options);
  // Shares the dataset's tensors (no copy of the samples).
  DataLoader(const TensorDataset& dataset, DataLoaderOptions options)
      : DataLoader(std::make_shared<const TensorDataset>(dataset), std::move(options)) {}

  std::int64_t batches_per_epoch() const;
  const DataLoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return *dataset_; }

  // The sample order of `epoch` (identity when shuffle is off).
  std::vector<std::int64_t> epoch_order(std::int64_t epoch) const;
  // Batch `index` of `epoch` built on the calling thread.
  Batch make_batch(const std::vector<std::int64_t>& order, std::int64_t epoch, std::int64_t index) const;
  // Reads `epoch` from batch `start_batch` on (to resume mid-epoch).
  EpochReader epoch(std::int64_t epoch, std::int64_t start_batch = 0) const;

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
};

// One pass over an epoch. Use next() or a range-for. It holds its own copy of the loader (the dataset is
// shared), so `for (auto& batch : DataLoader(...).epoch(0))` is safe. Destroying it stops the prefetch thread.
class EpochReader {
 public:
  EpochReader(const DataLoader& loader, std::int64_t epoch, std::int64_t start_batch);
  ~EpochReader();
  EpochReader(EpochReader&& other) = delete;
  EpochReader& operator=(EpochReader&&) = delete;

  // The next batch, or nothing at the end of the epoch. Rethrows an error raised while loading.
  std::optional<Batch> next();

  class iterator {
   public:
    explicit iterator(EpochReader* reader) : reader_(reader) { advance(); }
    const Batch& operator*() const { return *current_; }
    Batch& operator*() { return *current_; }
    iterator& operator++() { advance(); return *this; }
    bool operator!=(std::default_sentinel_t) const { return current_.has_value(); }

   private:
    void advance() { current_ = reader_->next(); }
    EpochReader* reader_;
    std::optional<Batch> current_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  void produce();
  const DataLoader loader_;
  std::int64_t epoch_;
  std::int64_t next_batch_;
  std::int64_t end_batch_;
  std::vector<std::int64_t> order_;

  // Prefetch state: the producer pushes batches (or the error it hit) and stops when asked.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> queue_;
  std::exception_ptr error_;
  bool producer_done_ = false;
  bool stop_ = false;
  std::thread producer_;
};

}  // namespace descent::data
