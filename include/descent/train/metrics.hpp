#pragma once
// Metrics of a run: running sums over batches (loss, accuracy, top-k accuracy, MSE, MAE), peak resident
// memory, and the metrics log (JSON Lines, one record per logged step and per epoch) with its CSV export.
#include <cstdint>
#include <filesystem>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "descent/core/tensor.hpp"

namespace descent::train {

using MetricMap = std::map<std::string, double>;

// Sums over batches. Classification: loss, accuracy, top<k>_accuracy (outputs are logits [B, C], targets
// int64 [B]). Regression: loss, mse, mae (outputs and targets [B, T]).
class MetricAccumulator {
 public:
  MetricAccumulator(bool classification, std::int64_t top_k) : classification_(classification), top_k_(top_k) {}

  // `mean_loss` is the batch's mean loss; `output` need not be detached (only its values are read).
  void add(const Tensor& output, const Tensor& target, double mean_loss);
  std::int64_t examples() const { return examples_; }
  double mean_loss() const { return examples_ ? loss_sum_ / double(examples_) : 0.0; }
  double accuracy() const { return examples_ ? double(correct_) / double(examples_) : 0.0; }
  // {prefix + "loss", prefix + "accuracy", ...}; empty when nothing was added.
  MetricMap result(const std::string& prefix) const;
  void reset();

  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  bool classification_;
  std::int64_t top_k_;
  double loss_sum_ = 0, squared_error_ = 0, absolute_error_ = 0;
  std::int64_t examples_ = 0, correct_ = 0, top_k_correct_ = 0, elements_ = 0;
};

// Peak resident set size of this process in MiB (getrusage).
double peak_rss_mb();

// Appends one JSON object per line. Lines are buffered and reach the file at least once a second, on
// flush() (the run calls it before every checkpoint, so a checkpoint never gets ahead of the log) and on
// destruction: a write per line would cost more than a small model's training step.
class MetricsLog {
 public:
  // Opens `path` for appending. With `keep`, first rewrites the file keeping only the records for which
  // keep(record) is true (a resumed run drops what it is about to redo).
  explicit MetricsLog(const std::filesystem::path& path,
                      const std::function<bool(const nlohmann::json&)>& keep = nullptr);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const nlohmann::json& record);
  // Appends the pending records; an Error naming the file when it cannot (a full disk, a file-size
  // limit), after which the log takes no more records.
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool failed_ = false;
  std::string pending_;
  std::chrono::steady_clock::time_point last_flush_;
};

// Writes the records of `kind` ("step" or "epoch") of a metrics log as CSV: one column per key seen
// (keys of a record in name order), empty cells where a record lacks a key.
void export_metrics_csv(const std::filesystem::path& jsonl, const std::string& kind, const std::filesystem::path& csv);

}  // namespace descent::train
