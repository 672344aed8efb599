#pragma once
// The HTML report: one self-contained file (chart library, page code and data embedded; no network)
// drawn from any folder that descent writes (docs/FORMATS.md lists them; docs/REPORT.md shows what each
// report holds). The folder kind is recognised by its files.
#include <filesystem>
#include <optional>

namespace descent::report {

struct ReportOptions {
  // Where to write the page; DIR/report.html when unset.
  std::optional<std::filesystem::path> out;
};

// Writes the report of `dir` and returns the path written. Throws descent::Error when `dir` is no
// folder of a known kind (the message names the folder and the files expected) or a file in it is
// malformed (the message names the file).
std::filesystem::path write_report(const std::filesystem::path& dir, const ReportOptions& options = {});

}  // namespace descent::report
