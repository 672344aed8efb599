#pragma once
// The HTML report: one self-contained file (chart library, page code and data embedded; no network)
// drawn from any folder that descent writes (docs/FORMATS.md lists them; docs/REPORT.md shows what each
// report holds). The folder kind is recognised by its files.
#include <filesystem>
#include <optional>
#include <ostream>

namespace descent::report {

struct ReportOptions {
  // Where to write the page; DIR/report.html when unset.
  std::optional<std::filesystem::path> out;
};

// Writes the report of `dir` and returns the path written. Throws descent::Error when `dir` is no
// folder of a known kind (the message names the folder and the files expected) or a file in it is
// malformed (the message names the file).
std::filesystem::path write_report(const std::filesystem::path& dir, const ReportOptions& options = {});

// For the commands that finish a run or study (train, resume, lr-find, compare, tune): writes DIR/report.html
// and prints "report: PATH" to `log`. Never throws: a failure prints "warning: ..." to `log` and returns
// nothing, so that a report problem never loses the run it reports on.
std::optional<std::filesystem::path> try_write_report(const std::filesystem::path& dir, std::ostream& log) noexcept;

}  // namespace descent::report
