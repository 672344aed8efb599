#include "descent/core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace descent {

namespace {

thread_local bool in_parallel_region = false;

class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop(); }

  int size() const { return int(workers_.size()) + 1; }

  void resize(int threads) {
    stop();
    std::uint64_t current = 0;
    {
      std::lock_guard lock(mutex_);
      stopping_ = false;
      current = generation_;
    }
    // New workers start from the current generation: a finished task must not be run again.
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i, current] { work(i, current); });
  }

  // Runs task(i) for i in [0, tasks) with the caller taking task 0.
  void run(int tasks, const std::function<void(int)>& task) {
    std::unique_lock lock(mutex_);
    task_ = &task;
    tasks_ = tasks;
    pending_ = tasks - 1;
    ++generation_;
    lock.unlock();
    wake_.notify_all();
    in_parallel_region = true;
    task(0);
    in_parallel_region = false;
    lock.lock();
    done_.wait(lock, [this] { return pending_ == 0; });
    task_ = nullptr;
  }

 private:
  void work(int index, std::uint64_t seen) {
    for (;;) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (index >= tasks_) continue;
      const auto* task = task_;
      lock.unlock();
      in_parallel_region = true;
      (*task)(index);
      in_parallel_region = false;
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0;
  int pending_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

int default_threads() {
  if (const char* env = std::getenv("DESCENT_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::atomic<int> configured_threads{default_threads()};

ThreadPool& pool() {
  static ThreadPool instance(configured_threads.load());
  return instance;
}

std::mutex pool_mutex;

}  // namespace

int num_threads() { return configured_threads.load(); }

void set_num_threads(int n) {
  n = std::max(1, n);
  std::lock_guard lock(pool_mutex);
  configured_threads = n;
  if (pool().size() != n) pool().resize(n);
}

void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
  const std::int64_t range = end - begin;
  if (range <= 0) return;
  const int threads = num_threads();
  if (threads <= 1 || in_parallel_region || range < 2 * std::max<std::int64_t>(grain, 1)) {
    fn(begin, end);
    return;
  }
  const int tasks = int(std::min<std::int64_t>(threads, range / std::max<std::int64_t>(grain, 1)));
  const std::int64_t chunk = (range + tasks - 1) / tasks;
  std::lock_guard lock(pool_mutex);
  pool().run(tasks, [&](int i) {
    const std::int64_t lo = begin + i * chunk;
    const std::int64_t hi = std::min(end, lo + chunk);
    if (lo < hi) fn(lo, hi);
  });
}

}  // namespace descent
