#pragma once
// Numeric CSV datasets: feature columns and one target column, chosen by header name or by index.
// Fields may be quoted ("a, b" and "" for a quote). Every selected cell must be a finite number.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "descent/data/dataset.hpp"

namespace descent::data {

// A column by its header name or by its 0-based index (negative counts from the end: -1 is the last).
struct ColumnRef {
  ColumnRef(std::int64_t index) : ref(index) {}  // NOLINT: implicit, so {0, 2, "age"} reads naturally
  ColumnRef(int index) : ref(std::int64_t(index)) {}
  ColumnRef(std::string name) : ref(std::move(name)) {}
  ColumnRef(const char* name) : ref(std::string(name)) {}
  std::variant<std::int64_t, std::string> ref;
};

// Class labels run from 0 to kMaxClasses - 1: the largest label sets the model's output width.
inline constexpr std::int64_t kMaxClasses = 100000;

enum class TargetKind {
  Regression,      // float32 targets [N, 1]
  Classification,  // int64 class indices [N]; cells must be non-negative integers
};

struct CsvOptions {
  char delimiter = ',';
  bool header = true;               // the first line names the columns
  ColumnRef target = -1;            // the last column unless told
  std::vector<ColumnRef> features;  // empty: every column but the target, in file order
  TargetKind target_kind = TargetKind::Regression;
};

TensorDataset read_csv(const std::filesystem::path& path, const CsvOptions& options = {});
// Parses CSV text; `source` names it in error messages (which also give line and column).
TensorDataset parse_csv(std::string_view text, const CsvOptions& options = {},
                        const std::string& source = "<memory>");

}  // namespace descent::data
