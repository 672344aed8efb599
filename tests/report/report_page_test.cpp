// The report file: one self-contained page per folder, nothing fetched from the network, and the
// `descent report` command that writes it.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "descent/report/page.hpp"
#include "descent/report/report.hpp"
#include "descent/report/tables.hpp"
#include "report/fixtures.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& path) { return descent::report::read_text_file(path); }

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// Runs a shell command, returning its exit status and standard output.
std::pair<int, std::string> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char chunk[4096];
  while (pipe && std::fgets(chunk, sizeof chunk, pipe)) out += chunk;
  const int status = pipe ? ::pclose(pipe) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST(ReportPage, EveryFixtureGivesOneSelfContainedFile) {
  const std::string library =
      read_all(fs::path(DESCENT_SOURCE_DIR) / "web/node_modules/plotly.js-dist-min/plotly.min.js");
  for (const auto& fixture : descent::testing::report_fixtures()) {
    SCOPED_TRACE(fixture.folder);
    const fs::path out_dir = descent::testing::scratch_dir("page-" + fixture.folder);
    const fs::path written = descent::report::write_report(descent::testing::fixture_dir(fixture.folder),
                                                           {.out = out_dir / "page.html"});
    EXPECT_EQ(written, out_dir / "page.html");
    // One file, no temporary left beside it.
    EXPECT_EQ(std::distance(fs::directory_iterator(out_dir), fs::directory_iterator()), 1);
    std::string page = read_all(written);
    EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_EQ(count(page, "<script type=\"application/json\" id=\"descent-report-data\">"), 1u);
    EXPECT_NE(page.find("\"kind\":\"" + fixture.kind + "\""), std::string::npos);
    // The chart library is inline, once; apart from its own comments and strings (map tile servers,
    // licence links) the page names no address at all, and nothing in it loads from one.
    const auto library_at = page.find(library);
    ASSERT_NE(library_at, std::string::npos);
    page.erase(library_at, library.size());
    EXPECT_EQ(page.find(library.substr(0, 4096)), std::string::npos);
    EXPECT_EQ(page.find("http://"), std::string::npos);
    EXPECT_EQ(page.find("https://"), std::string::npos);
    EXPECT_EQ(page.find("src="), std::string::npos);
    EXPECT_EQ(page.find("<link"), std::string::npos);
    EXPECT_NE(page.find("default-src 'none'"), std::string::npos);
  }
}

TEST(ReportPage, DefaultPathIsReportHtmlInTheFolder) {
  const fs::path dir = descent::testing::scratch_dir("default-path");
  fs::copy(descent::testing::fixture_dir("sharpness"), dir, fs::copy_options::recursive);
  EXPECT_EQ(descent::report::write_report(dir), dir / "report.html");
  EXPECT_TRUE(fs::is_regular_file(dir / "report.html"));
}

TEST(ReportPage, TitleIsEscaped) {
  const std::string page = descent::report::render_page(
      {{"kind", "sharpness"}, {"title", "</title><script>alert(1)</script>"}, {"sharpness", {{"runs", nlohmann::json::array()}}}});
  EXPECT_NE(page.find("<title>descent report: &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>"),
            std::string::npos);
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
}

TEST(ReportCommand, PrintsThePathAndFailsWithAMessage) {
  const fs::path out_dir = descent::testing::scratch_dir("command");
  const std::string program = std::string(DESCENT_BINARY_DIR) + "/descent";
  const auto [status, out] = run(program + " report " + descent::testing::fixture_dir("momentum").string() + " --out " +
                                 (out_dir / "momentum.html").string());
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, (out_dir / "momentum.html").string() + "\n");
  EXPECT_TRUE(fs::is_regular_file(out_dir / "momentum.html"));

  const auto [bad_status, bad_out] = run(program + " report " + out_dir.string() + " 2>&1");
  EXPECT_EQ(bad_status, 1);
  EXPECT_NE(bad_out.find("holds none of the files a report is drawn from"), std::string::npos) << bad_out;
}
