#include "descent/report/report.hpp"

#include <fstream>

#include "descent/core/error.hpp"
#include "descent/report/page.hpp"

namespace descent::report {

std::filesystem::path write_report(const std::filesystem::path& dir, const ReportOptions& options) {
  const std::string page = render_page(report_data(dir));
  const std::filesystem::path out = options.out ? *options.out : dir / "report.html";
  // Written beside its final name and renamed, so that a reader never opens half a page.
  // A failed write removes its temporary rather than leave half a page beside the folder's files.
  const std::filesystem::path tmp = out.string() + ".tmp";
  std::error_code error;
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    DESCENT_CHECK(file.good(), "report: cannot write ", tmp.string());
    file.write(page.data(), std::streamsize(page.size()));
    file.close();
    if (!file.good()) {
      std::filesystem::remove(tmp, error);
      throw Error("report: writing " + tmp.string() + " failed (a full disk?)");
    }
  }
  std::filesystem::rename(tmp, out, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw Error("report: cannot rename " + tmp.string() + " to " + out.string() + ": " + error.message());
  }
  return out;
}

std::optional<std::filesystem::path> try_write_report(const std::filesystem::path& dir, std::ostream& log) noexcept {
  try {
    const auto path = write_report(dir);
    log << "report: " << path.string() << "\n";
    return path;
  } catch (const std::exception& e) {
    log << "warning: the HTML report was not written (the run is complete and kept): " << e.what() << "\n";
  } catch (...) {
    log << "warning: the HTML report was not written (the run is complete and kept)\n";
  }
  return std::nullopt;
}

}  // namespace descent::report
