#include "descent/report/report.hpp"

#include <fstream>

#include "descent/core/error.hpp"

namespace descent::report {

std::filesystem::path write_report(const std::filesystem::path& dir, const ReportOptions& options) {
  DESCENT_CHECK(std::filesystem::is_directory(dir), "report: ", dir.string(), " is not a folder");
  const std::filesystem::path out = options.out ? *options.out : dir / "report.html";
  std::ofstream file(out, std::ios::binary);
  DESCENT_CHECK(file.good(), "report: cannot write ", out.string());
  file << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>descent report</title></head>"
          "<body><p>descent report</p></body></html>\n";
  DESCENT_CHECK(file.good(), "report: failed writing ", out.string());
  return out;
}

}  // namespace descent::report
