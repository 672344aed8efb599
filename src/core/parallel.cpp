#include "descent/core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace descent {

namespace {

thread_local bool in_parallel_region = false;

// One pause of a spin-wait loop (lets the sibling hyperthread run and saves power while polling).
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// How a thread waits for the next region (a worker) or for the workers (the caller): it polls for kSpin,
// yielding its core between polls after kSpinAlone in case the thread it waits for is waiting for that
// core, and then sleeps on a condition variable. Training and optimizer steps run regions back to back (an
// optimizer whose update needs per-tensor sums runs two per tensor), and waking a sleeping thread costs
// 10-20 us on a virtual machine, more than a pass over a tensor of 100k parameters; polling bounds the
// cost of an idle pool to a tenth of a millisecond of one core after each burst of regions. Measured on
// 2 cores: 2 us per back-to-back region against 18 us for sleeping at once; with 8 threads on the 2
// cores, yielding after 5 us keeps a region as fast as sleeping at once (after 20 us it was 30% slower).
constexpr auto kSpin = std::chrono::microseconds(100);
constexpr auto kSpinAlone = std::chrono::microseconds(5);

// Polls ready() until it holds or kSpin has passed; true when it holds.
template <class Ready>
bool spin_until(const Ready& ready) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int k = 0; k < 64; ++k) {
      if (ready()) return true;
      spin_pause();
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    if (waited >= kSpin) return ready();
    if (waited >= kSpinAlone) std::this_thread::yield();
  }
}

// Every worker takes part in every region (those with an index past the region's task count do nothing
// but acknowledge it), so that no worker can still be reading one region's task when the next is posted.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop(); }

  int size() const { return int(workers_.size()) + 1; }

  void resize(int threads) {
    stop();
    const std::uint64_t current = generation_.load();
    stopping_ = false;
    // New workers start from the current generation: a finished task must not be run again.
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i, current] { work(i, current); });
  }

  // Runs task(i) for i in [0, tasks) with the caller taking task 0.
  void run(int tasks, const std::function<void(int)>& task) {
    task_ = &task;
    tasks_ = tasks;
    pending_.store(int(workers_.size()), std::memory_order_relaxed);
    {
      // Under the mutex, so that a worker about to sleep sees either the new generation or the notify.
      std::lock_guard lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    in_parallel_region = true;
    task(0);
    in_parallel_region = false;
    const auto finished = [this] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(finished)) {
      std::unique_lock lock(mutex_);
      done_.wait(lock, finished);
    }
    task_ = nullptr;
  }

 private:
  void work(int index, std::uint64_t seen) {
    for (;;) {
      const auto posted = [&] {
        return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
      };
      if (!spin_until(posted)) {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, posted);
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      if (index < tasks_) {
        in_parallel_region = true;
        (*task_)(index);
        in_parallel_region = false;
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // Under the mutex, so that a caller about to sleep sees either the count or the notify.
        std::lock_guard lock(mutex_);
        done_.notify_one();
      }
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
  // Written by the caller before the generation is advanced (release) and read by the workers after they
  // see it (acquire); not written again until every worker has acknowledged the region.
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
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
