#include "descent/report/tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "descent/core/error.hpp"

namespace descent::report {
namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') cell += '"', ++i;
      else if (c == '"') quoted = false;
      else cell += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(std::move(cell));
      cell.clear();
    } else if (c != '\r') {
      cell += c;
    }
  }
  cells.push_back(std::move(cell));
  return cells;
}

nlohmann::json cell_value(const std::string& text) {
  if (text.empty()) return nullptr;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return nullptr;
  return value;
}

nlohmann::json finite_or_null(const nlohmann::json& value) {
  if (value.is_number() && std::isfinite(value.get<double>())) return value;
  if (value.is_boolean()) return value.get<bool>() ? 1 : 0;
  return nullptr;
}

// Indices of the rows kept when at most `max_rows` of `rows` may stay: evenly spaced, last included.
std::vector<std::size_t> kept_rows(std::size_t rows, std::size_t max_rows) {
  std::vector<std::size_t> kept;
  if (rows <= max_rows || max_rows < 2) {
    for (std::size_t r = 0; r < rows && (max_rows >= 2 || r < max_rows); ++r) kept.push_back(r);
    return kept;
  }
  for (std::size_t k = 0; k < max_rows; ++k) kept.push_back(k * (rows - 1) / (max_rows - 1));
  return kept;
}

// records (objects) -> {column: [values]} over the union of their keys, in first-seen order.
nlohmann::json columns_of(const std::vector<nlohmann::json>& records, std::size_t max_rows) {
  std::vector<std::string> names;
  for (const auto& record : records)
    for (const auto& [key, value] : record.items())
      if (key != "kind" && std::find(names.begin(), names.end(), key) == names.end()) names.push_back(key);
  nlohmann::json columns = nlohmann::json::object();
  for (const auto& name : names) columns[name] = nlohmann::json::array();
  for (const std::size_t r : kept_rows(records.size(), max_rows))
    for (const auto& name : names)
      columns[name].push_back(records[r].contains(name) ? finite_or_null(records[r][name]) : nlohmann::json());
  return columns;
}

}  // namespace

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  DESCENT_CHECK(in.good(), "report: cannot read ", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  const std::string text = read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error("report: " + path.string() + " is not valid JSON (" + e.what() + ")");
  }
}

nlohmann::json read_csv_columns(const std::filesystem::path& path, std::size_t max_rows) {
  std::istringstream in(read_text_file(path));
  std::string line;
  DESCENT_CHECK(std::getline(in, line), "report: ", path.string(), " is empty; expected a CSV header row");
  const std::vector<std::string> names = split_csv_line(line);
  std::vector<std::vector<std::string>> rows;
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    auto cells = split_csv_line(line);
    DESCENT_CHECK(cells.size() == names.size(), "report: ", path.string(), " line ", number, " has ", cells.size(),
                  " cells; expected ", names.size(), " as in the header");
    rows.push_back(std::move(cells));
  }
  nlohmann::json columns = nlohmann::json::object();
  for (const auto& name : names) columns[name] = nlohmann::json::array();
  for (const std::size_t r : kept_rows(rows.size(), max_rows))
    for (std::size_t c = 0; c < names.size(); ++c) columns[names[c]].push_back(cell_value(rows[r][c]));
  return columns;
}

nlohmann::json read_run_curves(const std::filesystem::path& run_dir, std::size_t max_step_rows) {
  constexpr std::size_t kMaxEpochRows = 100000;
  nlohmann::json curves = {{"steps", nlohmann::json::object()}, {"epochs", nlohmann::json::object()}};
  const bool have_csv = std::filesystem::exists(run_dir / "steps.csv") || std::filesystem::exists(run_dir / "epochs.csv");
  if (have_csv) {
    if (std::filesystem::exists(run_dir / "steps.csv")) curves["steps"] = read_csv_columns(run_dir / "steps.csv", max_step_rows);
    if (std::filesystem::exists(run_dir / "epochs.csv")) curves["epochs"] = read_csv_columns(run_dir / "epochs.csv", kMaxEpochRows);
    return curves;
  }
  if (!std::filesystem::exists(run_dir / "metrics.jsonl")) return curves;
  std::vector<nlohmann::json> steps, epochs;
  std::istringstream in(read_text_file(run_dir / "metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    // A run killed mid-write leaves a partial last line: it is skipped, as the trainer's resume does.
    auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object()) continue;
    const std::string kind = record.value("kind", "");
    if (kind == "step") steps.push_back(std::move(record));
    else if (kind == "epoch") epochs.push_back(std::move(record));
  }
  curves["steps"] = columns_of(steps, max_step_rows);
  curves["epochs"] = columns_of(epochs, kMaxEpochRows);
  return curves;
}

nlohmann::json read_epoch_curves(const std::filesystem::path& run_dir) {
  if (!std::filesystem::is_directory(run_dir)) return nullptr;
  if (std::filesystem::exists(run_dir / "epochs.csv")) return read_csv_columns(run_dir / "epochs.csv", 100000);
  auto curves = read_run_curves(run_dir, 2);
  if (curves["epochs"].empty()) return nullptr;
  return curves["epochs"];
}

}  // namespace descent::report
