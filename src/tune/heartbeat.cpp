#include <chrono>

#include "worker_support.hpp"

namespace descent::tune {

Heartbeat::Heartbeat(const std::filesystem::path& db_path, double interval_s)
    : db_path_(db_path), interval_s_(interval_s), thread_([this] { loop(); }) {}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Heartbeat::watch(std::function<void(StudyStorage&)> beat) {
  std::lock_guard<std::mutex> lock(mutex_);
  beat_ = std::move(beat);
}

void Heartbeat::loop() {
  std::unique_ptr<StudyStorage> storage;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::duration<double>(interval_s_));
    if (stop_ || !beat_) continue;
    auto beat = beat_;
    lock.unlock();  // a write may wait for another process's lock; watch() must not wait for it
    try {
      if (!storage) storage = std::make_unique<StudyStorage>(db_path_);
      beat(*storage);
    } catch (const std::exception&) {
      // A missed beat only matters after stale_after_s; the next one retries.
    }
    lock.lock();
  }
}

}  // namespace descent::tune
