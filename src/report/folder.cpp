// Which kind of folder a report is asked for, and the data its page draws. The formats are those of
// docs/FORMATS.md; the page code (web/report/) reads exactly the fields gathered here.
#include <chrono>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "descent/core/error.hpp"
#include "descent/report/page.hpp"
#include "descent/report/tables.hpp"

namespace descent::report {
namespace {

namespace fs = std::filesystem;

// Steps kept per run in a report: enough for every visible wiggle, small enough for a light page.
constexpr std::size_t kMaxStepRows = 4000;

// The folders that one JSON file identifies, checked in this order.
const std::vector<std::pair<std::string, std::string>>& kinds_by_file() {
  static const std::vector<std::pair<std::string, std::string>> kinds = {
      {"comparison.json", "comparison"},    {"study.json", "study"},
      {"trajectories.json", "trajectories"}, {"momentum.json", "momentum_study"},
      {"landscape.json", "landscape"},      {"sharpness.json", "sharpness"},
      {"regularization.json", "regularization"}, {"lr_find.json", "lr_find"}};
  return kinds;
}

std::string file_for(const std::string& kind) {
  for (const auto& [file, k] : kinds_by_file())
    if (k == kind) return file;
  return {};
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

std::string folder_name(const fs::path& dir) {
  const fs::path clean = dir.lexically_normal();
  const std::string name = (clean.has_filename() ? clean.filename() : clean.parent_path().filename()).string();
  return name.empty() ? clean.string() : name;
}

// The document's required members, checked so that a truncated or foreign file is named, not drawn wrong.
void require(const nlohmann::json& doc, const fs::path& file, std::initializer_list<const char*> keys) {
  DESCENT_CHECK(doc.is_object(), "report: ", file.string(), " must hold a JSON object");
  for (const char* key : keys)
    DESCENT_CHECK(doc.contains(key) && !doc[key].is_null(), "report: ", file.string(), " has no \"", key,
                  "\" (see docs/FORMATS.md)");
}

// A run folder named by a study file: relative to the study folder, or as written when that is absent.
fs::path resolve_run_dir(const fs::path& dir, const nlohmann::json& run_dir) {
  if (!run_dir.is_string()) return {};
  const fs::path path = run_dir.get<std::string>();
  if (path.is_absolute()) return path;
  if (fs::exists(dir / path)) return dir / path;
  return path;
}

void add_trial_curves(const fs::path& dir, nlohmann::json& items) {
  for (auto& item : items)
    if (item.is_object()) item["curves"] = read_epoch_curves(resolve_run_dir(dir, item.value("run_dir", nlohmann::json())));
}

nlohmann::json run_data(const fs::path& dir) {
  nlohmann::json data = read_run_curves(dir, kMaxStepRows);
  data["summary"] = fs::exists(dir / "summary.json") ? read_json_file(dir / "summary.json") : nlohmann::json();
  data["config"] = fs::exists(dir / "config.toml") ? nlohmann::json(read_text_file(dir / "config.toml")) : nlohmann::json();
  const auto& summary = data["summary"];
  data["title"] = summary.is_object() && summary.value("name", std::string()) != "" ? summary["name"].get<std::string>()
                                                                                    : folder_name(dir);
  return data;
}

nlohmann::json lr_find_data(const fs::path& dir) {
  const fs::path file = dir / "lr_find.json";
  nlohmann::json doc = read_json_file(file);
  // lr_find.json holds lr, loss and smoothed_loss (docs/FORMATS.md); the page's script reads them under
  // the plural names lrs, losses and smoothed_losses.
  DESCENT_CHECK(doc.is_object(), "report: ", file.string(), " must hold a JSON object");
  require(doc, file, {"lr", "loss"});
  DESCENT_CHECK(doc["lr"].is_array() && doc["loss"].is_array() && doc["lr"].size() == doc["loss"].size(),
                "report: ", file.string(), ": \"lr\" and \"loss\" must be arrays of the same length");
  for (const auto& [plural, singular] : {std::pair{"lrs", "lr"}, {"losses", "loss"}, {"smoothed_losses", "smoothed_loss"}})
    if (doc.contains(singular)) doc[plural] = doc[singular];
  return {{"title", folder_name(dir)}, {"lr_find", std::move(doc)}};
}

nlohmann::json study_file_data(const fs::path& dir, const std::string& kind) {
  const fs::path file = dir / file_for(kind);
  nlohmann::json doc = read_json_file(file);
  DESCENT_CHECK(doc.is_object(), "report: ", file.string(), " must hold a JSON object");
  if (doc.contains("kind"))
    DESCENT_CHECK(doc["kind"] == kind, "report: ", file.string(), " has kind ", doc["kind"].dump(), "; expected \"", kind, "\"");
  std::string title = folder_name(dir);
  if (kind == "comparison") {
    require(doc, file, {"setups", "metric"});
    for (auto& setup : doc["setups"]) add_trial_curves(dir, setup["trials"]);
    title = doc.value("name", title);
  } else if (kind == "study") {
    require(doc, file, {"trials", "direction"});
    title = doc.value("name", title);
  } else if (kind == "trajectories") {
    require(doc, file, {"function", "optimizers"});
    title = "trajectories on " + doc["function"].value("name", std::string("a test function"));
  } else if (kind == "momentum_study") {
    require(doc, file, {"lrs", "momenta", "rate"});
    title = "momentum on quadratics";
  } else if (kind == "landscape") {
    require(doc, file, {"line"});
    if (doc.contains("run_dir") && doc["run_dir"].is_string()) title = "loss landscape of " + doc["run_dir"].get<std::string>();
  } else if (kind == "sharpness") {
    require(doc, file, {"runs"});
  } else if (kind == "regularization") {
    require(doc, file, {"variants"});
    add_trial_curves(dir, doc["variants"]);
  }
  return {{"title", std::move(title)}, {kind, std::move(doc)}};
}

}  // namespace

std::string folder_kind(const fs::path& dir) {
  DESCENT_CHECK(fs::is_directory(dir), "report: ", dir.string(), " is not a folder; expected a run or study folder");
  for (const auto& [file, kind] : kinds_by_file())
    if (fs::is_regular_file(dir / file)) return kind;
  for (const char* file : {"metrics.jsonl", "epochs.csv", "summary.json"})
    if (fs::is_regular_file(dir / file)) return "run";
  std::string expected;
  for (const auto& [file, kind] : kinds_by_file()) expected += file + ", ";
  throw Error("report: " + dir.string() + " holds none of the files a report is drawn from; expected one of " +
              expected + "or a training run's metrics.jsonl / epochs.csv (see docs/FORMATS.md)");
}

nlohmann::json report_data(const fs::path& dir) {
  const std::string kind = folder_kind(dir);
  nlohmann::json data;
  try {
    data = kind == "run" ? run_data(dir) : kind == "lr_find" ? lr_find_data(dir) : study_file_data(dir, kind);
  } catch (const nlohmann::json::exception& e) {
    // A file that parses but has the wrong shape somewhere the checks above do not look.
    throw Error("report: " + (kind == "run" ? dir.string() : (dir / (kind == "lr_find" ? "lr_find.json" : file_for(kind))).string()) +
                ": an entry has the wrong type or is missing (see docs/FORMATS.md): " + e.what());
  }
  data["kind"] = kind;
  data["dir"] = dir.string();
  data["generated"] = utc_now();
  return data;
}

}  // namespace descent::report
