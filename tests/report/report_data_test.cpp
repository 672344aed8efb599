// What a report is drawn from: folder kinds, the data gathered per kind, escaping, and the page file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "descent/core/error.hpp"
#include "descent/report/page.hpp"
#include "descent/report/report.hpp"
#include "descent/report/tables.hpp"
#include "report/fixtures.hpp"

namespace fs = std::filesystem;
using descent::report::folder_kind;
using descent::report::report_data;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const descent::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(ReportFolders, EveryFixtureIsRecognisedAsItsKind) {
  for (const auto& fixture : descent::testing::report_fixtures()) {
    SCOPED_TRACE(fixture.folder);
    EXPECT_EQ(folder_kind(descent::testing::fixture_dir(fixture.folder)), fixture.kind);
  }
}

TEST(ReportFolders, AFolderOfNoKnownKindNamesTheFilesExpected) {
  const fs::path dir = descent::testing::scratch_dir("unknown-kind");
  write_text(dir / "notes.txt", "nothing a report draws\n");
  const std::string message = error_of([&] { folder_kind(dir); });
  EXPECT_NE(message.find(dir.string()), std::string::npos) << message;
  for (const char* file : {"comparison.json", "study.json", "trajectories.json", "momentum.json", "landscape.json",
                           "sharpness.json", "regularization.json", "lr_find.json", "metrics.jsonl"})
    EXPECT_NE(message.find(file), std::string::npos) << message;
  EXPECT_NE(error_of([&] { folder_kind(dir / "absent"); }).find("is not a folder"), std::string::npos);
}

TEST(ReportFolders, MalformedFilesAreNamed) {
  const fs::path dir = descent::testing::scratch_dir("malformed");
  write_text(dir / "study.json", "{\"kind\": \"study\", \"trials\": [");
  std::string message = error_of([&] { report_data(dir); });
  EXPECT_NE(message.find("study.json"), std::string::npos) << message;
  EXPECT_NE(message.find("not valid JSON"), std::string::npos) << message;

  const fs::path other = descent::testing::scratch_dir("missing-member");
  write_text(other / "comparison.json", R"({"kind": "comparison", "metric": "val_loss"})");
  message = error_of([&] { report_data(other); });
  EXPECT_NE(message.find("comparison.json"), std::string::npos) << message;
  EXPECT_NE(message.find("\"setups\""), std::string::npos) << message;

  const fs::path wrong = descent::testing::scratch_dir("wrong-kind");
  write_text(wrong / "sharpness.json", R"({"kind": "landscape", "runs": []})");
  message = error_of([&] { report_data(wrong); });
  EXPECT_NE(message.find("expected \"sharpness\""), std::string::npos) << message;
}

TEST(ReportFolders, LrFinderCurveAsDescentLrFindWritesIt) {
  // The program writes lr/loss/smoothed_loss, as docs/FORMATS.md documents; errors use those names.
  const fs::path dir = descent::testing::scratch_dir("lr-find-program");
  write_text(dir / "lr_find.json",
             R"({"lr": [0.001, 0.01, 0.1], "loss": [2.0, 1.0, null], "smoothed_loss": [2.0, 1.5, 3.0],
                 "suggestions": {"steepest": 0.01}, "diverged": true})");
  const auto data = report_data(dir);
  EXPECT_EQ(data["kind"], "lr_find");
  EXPECT_EQ(data["lr_find"]["lrs"].size(), 3u);
  EXPECT_TRUE(data["lr_find"]["losses"][2].is_null());
  EXPECT_EQ(data["lr_find"]["smoothed_losses"][1], 1.5);

  write_text(dir / "lr_find.json", R"({"lr": [0.001, 0.01], "loss": [2.0]})");
  std::string message = error_of([&] { report_data(dir); });
  EXPECT_NE(message.find("\"lr\" and \"loss\" must be arrays of the same length"), std::string::npos) << message;
  write_text(dir / "lr_find.json", R"({"lrs": [0.001], "losses": [2.0]})");
  message = error_of([&] { report_data(dir); });
  EXPECT_NE(message.find("\"lr\""), std::string::npos) << message;
}

TEST(ReportTables, CsvCellsAndRowLimit) {
  const fs::path dir = descent::testing::scratch_dir("csv");
  std::string text = "step,loss,skipped,note\n";
  for (int row = 1; row <= 100; ++row)
    text += std::to_string(row) + "," + (row == 50 ? "" : row == 51 ? "nan" : std::to_string(1.0 / row)) + ",false,\"a, b\"\n";
  write_text(dir / "steps.csv", text);
  const auto all = descent::report::read_csv_columns(dir / "steps.csv", 1000);
  ASSERT_EQ(all["step"].size(), 100u);
  EXPECT_EQ(all["step"][0], 1.0);
  EXPECT_DOUBLE_EQ(all["loss"][3].get<double>(), 0.25);
  EXPECT_TRUE(all["loss"][49].is_null());   // empty cell
  EXPECT_TRUE(all["loss"][50].is_null());   // not finite
  EXPECT_TRUE(all["skipped"][0].is_null()); // not a number
  EXPECT_TRUE(all["note"][0].is_null());    // a quoted cell with a comma stays one cell

  const auto few = descent::report::read_csv_columns(dir / "steps.csv", 10);
  ASSERT_EQ(few["step"].size(), 10u);
  EXPECT_EQ(few["step"].front(), 1.0);
  EXPECT_EQ(few["step"].back(), 100.0);

  write_text(dir / "bad.csv", "a,b\n1,2\n3\n");
  const std::string message = error_of([&] { descent::report::read_csv_columns(dir / "bad.csv", 10); });
  EXPECT_NE(message.find("bad.csv line 3 has 1 cells; expected 2"), std::string::npos) << message;
}

TEST(ReportTables, RunCurvesFromTheMetricsLogWhenNoCsvWasExported) {
  const fs::path dir = descent::testing::scratch_dir("run-without-csv");
  write_text(dir / "metrics.jsonl",
             "{\"kind\":\"step\",\"step\":1,\"loss\":2.5,\"skipped\":false}\n"
             "{\"kind\":\"step\",\"step\":2,\"loss\":2.0,\"grad_norm\":1.5}\n"
             "{\"kind\":\"epoch\",\"epoch\":1,\"step\":2,\"val_loss\":2.1}\n"
             "{\"kind\":\"step\",\"step\":3,\"lo");  // cut short by a crash
  EXPECT_EQ(folder_kind(dir), "run");
  const auto data = report_data(dir);
  EXPECT_EQ(data["steps"]["loss"], nlohmann::json({2.5, 2.0}));
  EXPECT_EQ(data["steps"]["skipped"], nlohmann::json({0, nullptr}));
  EXPECT_EQ(data["steps"]["grad_norm"], nlohmann::json({nullptr, 1.5}));
  EXPECT_EQ(data["epochs"]["val_loss"], nlohmann::json({2.1}));
  EXPECT_TRUE(data["summary"].is_null());
  EXPECT_EQ(data["title"], "run-without-csv");
}

TEST(ReportData, ComparisonCarriesEachTrialsEpochCurves) {
  const auto data = report_data(descent::testing::fixture_dir("comparison"));
  const auto& setups = data["comparison"]["setups"];
  ASSERT_EQ(setups.size(), 3u);
  const auto& curves = setups[0]["trials"][0]["curves"];
  ASSERT_TRUE(curves.is_object());
  EXPECT_EQ(curves["epoch"].size(), 4u);
  EXPECT_EQ(curves["val_loss"].size(), 4u);
  const auto& failed = setups[2]["trials"][2];
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_TRUE(failed["curves"].is_null());
  EXPECT_EQ(data["title"], "optimizers on two moons");
}

TEST(ReportData, RegularizationCarriesEachVariantsCurves) {
  const auto data = report_data(descent::testing::fixture_dir("regularization"));
  for (const auto& variant : data["regularization"]["variants"]) {
    SCOPED_TRACE(variant["name"].dump());
    ASSERT_TRUE(variant["curves"].is_object());
    EXPECT_EQ(variant["curves"]["train_loss"].size(), variant["curves"]["epoch"].size());
  }
}

TEST(ReportEscaping, JsonForScriptCannotCloseTheElement) {
  const std::string hostile = "</script><img src=x onerror=alert(1)> & <!-- \xE2\x80\xA8 \xE2\x80\xA9 \xFF";
  const nlohmann::json value = {{"name", hostile}, {"list", {hostile, 1.5}}};
  const std::string text = descent::report::json_for_script(value);
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(text.find('>'), std::string::npos) << text;
  EXPECT_EQ(text.find('&'), std::string::npos) << text;
  EXPECT_EQ(text.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_EQ(text.find("\xE2\x80\xA9"), std::string::npos);
  EXPECT_NE(text.find("\\u003c/script\\u003e"), std::string::npos) << text;
  // The same value comes back, except the invalid byte, which becomes U+FFFD.
  const auto back = nlohmann::json::parse(text);
  std::string expected = hostile;
  expected.replace(expected.size() - 1, 1, "\xEF\xBF\xBD");
  EXPECT_EQ(back["name"], expected);
  EXPECT_EQ(back["list"][1], 1.5);
}

TEST(ReportEscaping, HtmlText) {
  EXPECT_EQ(descent::report::escape_html("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}
