#include "descent/train/metrics.hpp"
#include "descent/core/json_integer.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>
#include <vector>

#include "descent/train/safetensors.hpp"

namespace descent::train {

void MetricAccumulator::add(const Tensor& output, const Tensor& target, double mean_loss) {
  const std::int64_t batch = output.size(0);
  loss_sum_ += mean_loss * double(batch);
  examples_ += batch;
  // Outputs of the layers are contiguous: read them in place (a copy only for the odd strided one).
  const Tensor values = output.is_contiguous() ? output : output.contiguous_copy();
  if (classification_ && values.dim() == 2 && target.dtype() == DType::Int64 && values.dtype() == DType::Float32) {
    const std::int64_t classes = values.size(1);
    const float* logits = values.data<float>();
    const Tensor labels = target.is_contiguous() ? target : target.contiguous_copy();
    const std::int64_t* label = labels.data<std::int64_t>();
    for (std::int64_t i = 0; i < batch; ++i) {
      const float* row = logits + i * classes;
      const std::int64_t y = label[i];
      if (y < 0 || y >= classes) continue;
      // The rank of the true class as torch.argmax and topk order a row: the logits above it, and the
      // equal ones before it (the first maximum wins, so a constant row predicts class 0). A row holding
      // a NaN has no ranking and counts as wrong, for accuracy and top-k alike.
      std::int64_t better = 0;
      bool has_nan = false;
      const float truth = row[y];
      for (std::int64_t c = 0; c < classes; ++c) {
        has_nan |= std::isnan(row[c]);
        better += row[c] > truth || (c < y && row[c] == truth);
      }
      if (has_nan) continue;
      correct_ += better == 0;
      top_k_correct_ += better < top_k_;
    }
  } else if (!classification_ && values.dtype() == DType::Float32 && target.dtype() == DType::Float32 &&
             values.numel() == target.numel()) {
    const Tensor expected = target.is_contiguous() ? target : target.contiguous_copy();
    const float* a = values.data<float>();
    const float* b = expected.data<float>();
    for (std::int64_t i = 0; i < values.numel(); ++i) {
      const double difference = double(a[i]) - double(b[i]);
      squared_error_ += difference * difference;
      absolute_error_ += std::abs(difference);
    }
    elements_ += values.numel();
  }
}

MetricMap MetricAccumulator::result(const std::string& prefix) const {
  MetricMap out;
  if (examples_ == 0) return out;
  out[prefix + "loss"] = mean_loss();
  if (classification_) {
    out[prefix + "accuracy"] = accuracy();
    out[prefix + "top" + std::to_string(top_k_) + "_accuracy"] = double(top_k_correct_) / double(examples_);
  } else if (elements_ > 0) {
    out[prefix + "mse"] = squared_error_ / double(elements_);
    out[prefix + "mae"] = absolute_error_ / double(elements_);
  }
  return out;
}

void MetricAccumulator::reset() {
  loss_sum_ = squared_error_ = absolute_error_ = 0;
  examples_ = correct_ = top_k_correct_ = elements_ = 0;
}

nlohmann::json MetricAccumulator::state() const {
  return {{"loss_sum", loss_sum_}, {"squared_error", squared_error_}, {"absolute_error", absolute_error_},
          {"examples", examples_}, {"correct", correct_}, {"top_k_correct", top_k_correct_}, {"elements", elements_}};
}

void MetricAccumulator::load_state(const nlohmann::json& state) {
  loss_sum_ = state.at("loss_sum").get<double>();
  squared_error_ = state.at("squared_error").get<double>();
  absolute_error_ = state.at("absolute_error").get<double>();
  examples_ = json_integer(state.at("examples"), "examples");
  correct_ = json_integer(state.at("correct"), "correct");
  top_k_correct_ = json_integer(state.at("top_k_correct"), "top_k_correct");
  elements_ = json_integer(state.at("elements"), "elements");
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

MetricsLog::MetricsLog(const std::filesystem::path& path, const std::function<bool(const nlohmann::json&)>& keep)
    : path_(path) {
  if (keep && std::filesystem::exists(path)) {
    std::istringstream in(read_file_bytes(path));
    std::string kept, line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      // A line cut short by a kill does not parse; it is dropped with everything after the checkpoint.
      const auto record = nlohmann::json::parse(line, nullptr, false);
      if (!record.is_discarded() && keep(record)) kept += line + "\n";
    }
    write_file_atomic(path, kept);
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  DESCENT_CHECK(fd_ >= 0, "cannot open the metrics log ", path.string(), ": ", std::strerror(errno));
  last_flush_ = std::chrono::steady_clock::now();
}

MetricsLog::~MetricsLog() {
  try {
    flush();
  } catch (const Error&) {
    // Already reported by the flush that failed first; a destructor cannot report it again.
  }
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::write(const nlohmann::json& record) {
  pending_ += record.dump();
  pending_ += '\n';
  if (std::chrono::steady_clock::now() - last_flush_ > std::chrono::seconds(1)) flush();
}

void MetricsLog::flush() {
  last_flush_ = std::chrono::steady_clock::now();
  if (pending_.empty() || failed_) return;
  std::size_t written = 0;
  while (written < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + written, pending_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Stop here: a run that cannot log would lose its records for good. The last checkpoint predates
      // these records, and `descent resume` rewrites the log from it.
      failed_ = true;
      throw Error("cannot write the metrics log " + path_.string() + ": " + std::strerror(n < 0 ? errno : ENOSPC) +
                  "; training stops here, and `descent resume` continues from the last checkpoint once the "
                  "file can be written");
    }
    written += std::size_t(n);
  }
  pending_.clear();
}

void export_metrics_csv(const std::filesystem::path& jsonl, const std::string& kind, const std::filesystem::path& csv) {
  std::vector<nlohmann::json> records;
  std::vector<std::string> columns;
  std::istringstream in(read_file_bytes(jsonl));
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || record.value("kind", "") != kind) continue;
    for (const auto& [key, value] : record.items())
      if (key != "kind" && std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
    records.push_back(record);
  }
  std::ostringstream out;
  for (std::size_t c = 0; c < columns.size(); ++c) out << (c ? "," : "") << columns[c];
  out << '\n';
  for (const auto& record : records) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c) out << ',';
      if (!record.contains(columns[c])) continue;
      const auto& value = record[columns[c]];
      if (value.is_string()) out << value.get<std::string>();
      else out << value.dump();
    }
    out << '\n';
  }
  write_file_atomic(csv, out.str());
}

}  // namespace descent::train
