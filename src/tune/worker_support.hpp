#pragma once
// What a worker process runs beside its trials: a heartbeat thread (its own SQLite connection) that
// keeps the running trial's heartbeat fresh while an epoch is long, and the PBT work loop.
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "descent/tune/settings.hpp"
#include "descent/tune/storage.hpp"
#include "descent/tune/study.hpp"

namespace descent::tune {

class Heartbeat {
 public:
  Heartbeat(const std::filesystem::path& db_path, double interval_s);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;
  // What to refresh every interval (nothing: null).
  void watch(std::function<void(StudyStorage&)> beat);

 private:
  void loop();
  std::filesystem::path db_path_;
  double interval_s_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::function<void(StudyStorage&)> beat_;
  bool stop_ = false;
  std::thread thread_;
};

std::int64_t run_pbt_units(StudyStorage& storage, const StudySettings& settings, const std::filesystem::path& study_dir,
                           const WorkerOptions& options, Heartbeat& heartbeat);

}  // namespace descent::tune
