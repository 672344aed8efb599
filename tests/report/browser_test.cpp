// Every kind of report opened in headless Chromium (Debian's `chromium`): each chart must draw, with no
// error on the console or in the page, and a screenshot is saved into the build tree
// (build/report-test/screenshots/KIND.png). Hostile names must reach the page as text only.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "descent/report/report.hpp"
#include "descent/report/tables.hpp"
#include "report/fixtures.hpp"
#include "report/headless_browser.hpp"

namespace fs = std::filesystem;
using descent::testing::HeadlessBrowser;

namespace {

// What status.js publishes once every chart has settled.
constexpr const char* kStatus =
    "(function () { var s = document.getElementById('descent-report-status');"
    " return s && s.getAttribute('data-state') === 'done' ? s.textContent : null; })()";

constexpr std::chrono::seconds kPageTimeout{90};

// Would run if any of it were ever treated as markup or script.
const std::string kHostile =
    "</script><img src=x onerror=\"window.descentInjected=1\"><script>window.descentInjected=2</script>&amp;\xE2\x80\xA8";

void expect_all_charts_drawn(const std::string& status_text) {
  const auto status = nlohmann::json::parse(status_text);
  EXPECT_GT(status["expected"].get<int>(), 0) << status_text;
  EXPECT_EQ(status["drawn"], status["expected"]) << status_text;
  EXPECT_TRUE(status["errors"].empty()) << status_text;
  EXPECT_TRUE(status["failed"].empty()) << status_text;
}

void expect_png(const fs::path& png) {
  ASSERT_TRUE(fs::is_regular_file(png)) << png;
  std::ifstream in(png, std::ios::binary);
  std::string magic(8, '\0');
  in.read(magic.data(), 8);
  EXPECT_EQ(magic, std::string("\x89PNG\r\n\x1a\n", 8)) << png;
  EXPECT_GT(fs::file_size(png), 10000u) << png;  // a drawn page, not an empty one
}

// A copy of a fixture whose names are all hostile.
fs::path hostile_comparison() {
  const fs::path dir = descent::testing::scratch_dir("hostile-comparison");
  fs::copy(descent::testing::fixture_dir("comparison"), dir, fs::copy_options::recursive);
  auto doc = descent::report::read_json_file(dir / "comparison.json");
  doc["name"] = kHostile;
  for (auto& setup : doc["setups"]) setup["name"] = kHostile + setup["name"].get<std::string>();
  doc["baseline"] = doc["setups"][0]["name"];
  std::ofstream(dir / "comparison.json") << doc.dump();
  return dir;
}

fs::path hostile_study() {
  const fs::path dir = descent::testing::scratch_dir("hostile-study");
  fs::copy(descent::testing::fixture_dir("study"), dir, fs::copy_options::recursive);
  auto doc = descent::report::read_json_file(dir / "study.json");
  doc["name"] = kHostile;
  doc["metric"] = kHostile;
  for (auto& trial : doc["trials"]) {
    trial["params"][kHostile] = trial["params"]["optimizer"].get<std::string>() + kHostile;
    trial["params"].erase("optimizer");
  }
  std::ofstream(dir / "study.json") << doc.dump();
  return dir;
}

}  // namespace

TEST(ReportInBrowser, EveryKindDrawsEveryChartWithoutErrors) {
  const auto program = HeadlessBrowser::find();
  if (!program) GTEST_SKIP() << "chromium is not installed (scripts/install-deps installs it)";
  const fs::path pages = descent::testing::scratch_dir("browser");
  const fs::path screenshots = descent::testing::scratch_dir("screenshots");
  HeadlessBrowser browser(*program, 1400, 2000);

  for (const auto& fixture : descent::testing::report_fixtures()) {
    SCOPED_TRACE(fixture.folder);
    const fs::path page = descent::report::write_report(descent::testing::fixture_dir(fixture.folder),
                                                        {.out = pages / (fixture.folder + ".html")});
    expect_all_charts_drawn(browser.open(page, kStatus, kPageTimeout));
    EXPECT_EQ(browser.evaluate("document.querySelector('#descent-report-header h1').textContent").get<std::string>().empty(),
              false);
    browser.screenshot(screenshots / (fixture.folder + ".png"));
    expect_png(screenshots / (fixture.folder + ".png"));
  }

  for (const fs::path& dir : {hostile_comparison(), hostile_study()}) {
    SCOPED_TRACE(dir.string());
    const fs::path page = descent::report::write_report(dir);
    const std::string html = descent::report::read_text_file(page);
    EXPECT_EQ(html.find("<img src=x"), std::string::npos);
    EXPECT_EQ(html.find("window.descentInjected=2</script>"), std::string::npos);

    expect_all_charts_drawn(browser.open(page, kStatus, kPageTimeout));
    EXPECT_TRUE(browser.evaluate("window.descentInjected === undefined").get<bool>());
    EXPECT_EQ(browser.evaluate("document.querySelectorAll('img').length").get<int>(), 0);
    EXPECT_EQ(browser.evaluate("document.querySelectorAll('script').length").get<int>(), 4);
    // The names are on the page as the characters given: in the header, the title and the tables.
    const std::string hostile_js = nlohmann::json(kHostile).dump();
    EXPECT_TRUE(browser.evaluate("document.querySelector('#descent-report-header h1').textContent === " + hostile_js).get<bool>());
    EXPECT_TRUE(browser.evaluate("document.title === 'descent report: ' + " + hostile_js).get<bool>());
    EXPECT_TRUE(browser.evaluate("Array.from(document.querySelectorAll('td')).some(function (td) {"
                                 " return td.textContent.indexOf(" + hostile_js + ") >= 0; })").get<bool>());
    // Plotly shows them as text too: a legend or axis entry holds the literal characters.
    EXPECT_TRUE(browser.evaluate("Array.from(document.querySelectorAll('.main-svg text')).some(function (t) {"
                                 " return t.textContent.indexOf('</script><img src=x') >= 0; })").get<bool>());
    if (dir.filename() == "hostile-study") {
      // A categorical parameter's values are the parallel-coordinates ticks: shown as given too.
      EXPECT_TRUE(browser.evaluate("Array.from(document.querySelectorAll('svg text')).some(function (t) {"
                                   " return t.textContent.indexOf('sgd</script><img src=x') === 0; })").get<bool>());
    }
    browser.screenshot(screenshots / (dir.filename().string() + ".png"));
  }
}
