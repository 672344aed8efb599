// Feeds arbitrary rows to a study database, as a damaged or foreign study.db would hold them, then
// exports the study (study.json, best.toml) as `descent tune` and `descent report` do. The input is split
// at NUL bytes into: the study's config JSON, a trial's params JSON, its state, its error text, and an
// intermediate value's step. Any input must export or raise descent::Error.
#include <sqlite3.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "descent/core/error.hpp"
#include "descent/tune/study.hpp"

namespace {

const char* kStudy = R"({"name": "fuzz", "seed": 0, "data": {"dataset": "linear_regression", "samples": 100},
  "model": {"hidden": [4]}, "trainer": {"epochs": 1},
  "tune": {"name": "fuzz", "trials": 3, "sampler": {"name": "random"},
           "space": {"optimizer.lr": {"type": "float", "low": 0.001, "high": 0.1, "log": true}}}})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  static const fs::path base = fs::temp_directory_path() / ("descent-fuzz-study-" + std::to_string(::getpid()));
  static const fs::path template_db = [] {
    fs::remove_all(base);
    descent::tune::create_study(base / "template", nlohmann::json::parse(kStudy));
    return base / "template" / "study.db";
  }();
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && parts.size() < 5) parts.emplace_back();
    else parts.back() += char(data[i]);
  }
  parts.resize(5);
  const fs::path dir = base / "study";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(template_db, dir / "study.db");
  sqlite3* db = nullptr;
  if (sqlite3_open((dir / "study.db").c_str(), &db) != SQLITE_OK) __builtin_trap();
  auto run = [&](const char* sql, const std::vector<std::string>& values) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) __builtin_trap();
    for (std::size_t i = 0; i < values.size(); ++i)
      sqlite3_bind_text(statement, int(i + 1), values[i].data(), int(values[i].size()), SQLITE_TRANSIENT);
    sqlite3_step(statement);
    sqlite3_finalize(statement);
  };
  if (!parts[0].empty()) run("UPDATE study SET config = ?1", {parts[0]});
  run("INSERT INTO trials (number, state, params, value, error, counted) VALUES (0, ?1, ?2, 0.5, ?3, 1)",
      {parts[2].empty() ? std::string("complete") : parts[2], parts[1], parts[3]});
  run("INSERT INTO intermediate (trial, step, value) VALUES (0, CAST(?1 AS INTEGER), 0.25)", {parts[4]});
  sqlite3_close(db);
  try {
    (void)descent::tune::export_study(dir);
  } catch (const descent::Error&) {
    // Refused with a message naming what is wrong: the expected outcome for damaged rows.
  }
  return 0;
}
