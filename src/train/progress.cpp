// ProgressReporter: a single updating line on a terminal, periodic log lines otherwise.
#include <unistd.h>

#include <cmath>

#include "descent/train/callbacks.hpp"

namespace descent::train {

namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long total = std::lround(seconds);
  char text[32];
  if (total >= 3600) std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  return text;
}

}  // namespace

ProgressReporter::ProgressReporter(Mode mode, std::int64_t every_steps, std::FILE* out)
    : mode_(mode), every_steps_(std::max<std::int64_t>(every_steps, 1)), out_(out) {}

ProgressReporter::Mode ProgressReporter::parse_mode(const std::string& name, std::FILE* out) {
  if (name == "bar") return Mode::Bar;
  if (name == "log") return Mode::Log;
  if (name == "none") return Mode::None;
  DESCENT_CHECK(name == "auto", "progress mode '", name, "'; expected auto, bar, log or none");
  return ::isatty(::fileno(out)) ? Mode::Bar : Mode::Log;
}

void ProgressReporter::on_fit_begin(Trainer& trainer) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
  start_step_ = trainer.position().step;
  if (mode_ != Mode::None && start_step_ > 0)
    std::fprintf(out_, "resuming at step %lld (epoch %lld)\n", static_cast<long long>(start_step_),
                 static_cast<long long>(trainer.position().epoch + 1));
}

std::string ProgressReporter::status(Trainer& trainer, const StepRecord& record) const {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double steps_per_s = double(record.step - start_step_) / std::max(seconds, 1e-9);
  const double eta = double(trainer.total_steps() - record.step) / std::max(steps_per_s, 1e-9);
  char text[256];
  int n = std::snprintf(text, sizeof text, "epoch %lld/%lld  step %lld/%lld  loss %.4f",
                        static_cast<long long>(record.epoch + 1), static_cast<long long>(trainer.options().epochs),
                        static_cast<long long>(record.step), static_cast<long long>(trainer.total_steps()), record.loss);
  if (trainer.options().classification && trainer.epoch_metrics().examples() > 0)
    n += std::snprintf(text + n, sizeof text - std::size_t(n), "  acc %.4f", trainer.epoch_metrics().accuracy());
  std::snprintf(text + n, sizeof text - std::size_t(n), "  lr %.3g  %.0f ex/s  ETA %s", record.lr,
                steps_per_s * double(record.examples), clock_text(eta).c_str());
  return text;
}

void ProgressReporter::on_step_end(Trainer& trainer, const StepRecord& record) {
  if (mode_ == Mode::Bar) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(100) && record.step != trainer.total_steps()) return;
    last_draw_ = now;
    std::fprintf(out_, "\r\033[2K%s", status(trainer, record).c_str());
    std::fflush(out_);
    line_open_ = true;
  } else if (mode_ == Mode::Log && record.step % every_steps_ == 0) {
    std::fprintf(out_, "%s\n", status(trainer, record).c_str());
    std::fflush(out_);
  }
}

void ProgressReporter::on_epoch_end(Trainer& trainer, const EpochRecord& record) {
  if (mode_ == Mode::None) return;
  if (line_open_) std::fputc('\n', out_);
  line_open_ = false;
  std::string line = "epoch " + std::to_string(record.epoch) + "/" + std::to_string(trainer.options().epochs);
  char value[64];
  for (const auto& [key, number] : record.metrics) {
    if (!key.starts_with("train_") && !key.starts_with("val_") && key != "lr") continue;
    if (key == "train_time_s") continue;
    std::snprintf(value, sizeof value, "  %s %.4g", key.c_str(), number);
    line += value;
  }
  std::snprintf(value, sizeof value, "  (%.1f s)", trainer.elapsed_seconds());
  line += value;
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void ProgressReporter::on_fit_end(Trainer& trainer) {
  if (line_open_) std::fputc('\n', out_);
  line_open_ = false;
  if (mode_ != Mode::None && !trainer.stop_reason().empty() && trainer.stop_reason() != "max_steps")
    std::fprintf(out_, "stopped: %s\n", trainer.stop_reason().c_str());
  std::fflush(out_);
}

}  // namespace descent::train
