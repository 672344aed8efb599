#pragma once
// Reading what the charts need from a study folder: JSON files, CSV tables and the metric records of
// training runs, as column tables {name: [number or null, ..]} ready to embed in the page.
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace descent::report {

// The file parsed; descent::Error naming the file when it is missing or not JSON.
nlohmann::json read_json_file(const std::filesystem::path& path);
// The whole file as text; descent::Error naming the file when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

// A CSV file with a header row as {column: [values]}: numbers stay numbers; empty, non-numeric and
// non-finite cells become null. At most `max_rows` rows are kept, evenly spaced, the last always included.
nlohmann::json read_csv_columns(const std::filesystem::path& path, std::size_t max_rows);

// A training run's curves: {"steps": columns, "epochs": columns} from steps.csv and epochs.csv, or from
// metrics.jsonl when the CSV files are absent (a run stopped before it exported them). A table that no
// file provides is an empty object.
nlohmann::json read_run_curves(const std::filesystem::path& run_dir, std::size_t max_step_rows);

// Only the epoch table of a run (what comparisons draw bands from); null when the run has none.
nlohmann::json read_epoch_curves(const std::filesystem::path& run_dir);

}  // namespace descent::report
