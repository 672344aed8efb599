#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "descent/data/csv.hpp"
#include "temp_dir.hpp"

using namespace descent;
using namespace descent::data;
using descent::data::testing::error_message;
using descent::data::testing::TempDir;
using ::testing::HasSubstr;

namespace {
const char* kHousing =
    "rooms,age,\"price, k$\",label\n"
    "3,10.5,200,1\n"
    "4,  2,350.25,0\r\n"
    "\n"
    "+5,-1e1,\"410\",2\n";
}

TEST(Csv, DefaultTargetIsLastColumnAndFeaturesTheRest) {
  const auto data = parse_csv(kHousing);
  EXPECT_EQ(data.inputs().shape(), (Shape{3, 3}));
  EXPECT_EQ(data.inputs().to_vector<float>(), (std::vector<float>{3, 10.5f, 200, 4, 2, 350.25f, 5, -10, 410}));
  EXPECT_EQ(data.targets().shape(), (Shape{3, 1}));
  EXPECT_EQ(data.targets().to_vector<float>(), (std::vector<float>{1, 0, 2}));
}

TEST(Csv, ColumnsByNameForClassification) {
  CsvOptions options;
  options.target = "label";
  options.features = {"price, k$", "rooms"};
  options.target_kind = TargetKind::Classification;
  const auto data = parse_csv(kHousing, options);
  EXPECT_EQ(data.inputs().to_vector<float>(), (std::vector<float>{200, 3, 350.25f, 4, 410, 5}));
  EXPECT_EQ(data.targets().dtype(), DType::Int64);
  EXPECT_EQ(data.targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0, 2}));
  EXPECT_EQ(data.num_classes(), 3);
}

TEST(Csv, ColumnsByIndexWithoutHeaderAndOtherDelimiter) {
  TempDir dir;
  const auto path = dir.write("t.tsv", "1\t2\t3\n4\t5\t6\n");
  CsvOptions options;
  options.delimiter = '\t';
  options.header = false;
  options.target = 0;
  options.features = {-1, 1};
  const auto data = read_csv(path, options);
  EXPECT_EQ(data.inputs().to_vector<float>(), (std::vector<float>{3, 2, 6, 5}));
  EXPECT_EQ(data.targets().to_vector<float>(), (std::vector<float>{1, 4}));
}

TEST(CsvErrors, CellThatIsNotANumberGivesLineAndColumn) {
  TempDir dir;
  const auto path = dir.write("bad.csv", "a,b,y\n1,2,3\n4,x5,6\n");
  const auto message = error_message([&] { read_csv(path); });
  EXPECT_THAT(message, HasSubstr(path.string()));
  EXPECT_THAT(message, HasSubstr("line 3, column 2 ('b')"));
  EXPECT_THAT(message, HasSubstr("expected a finite number, got 'x5'"));
}

TEST(CsvErrors, LineNumbersCountQuotedNewlinesAndBlankLines) {
  const std::string text = "name,y\n\"multi\nline\",1\n\n2,nan\n";
  CsvOptions options;
  options.features = {0};
  EXPECT_THAT(error_message([&] { parse_csv(text, options, "q.csv"); }), HasSubstr("line 2, column 1 ('name')"));
  options.features = {};
  const std::string later = "x,y\n\"1\",\"2\"\n\n3,nan\n";
  EXPECT_THAT(error_message([&] { parse_csv(later, options, "q.csv"); }),
              HasSubstr("q.csv' line 4, column 2 ('y'): expected a finite number, got 'nan'"));
}

TEST(CsvErrors, EmptyCellWrongFieldCountAndUnknownColumn) {
  EXPECT_THAT(error_message([&] { parse_csv("a,y\n1,\n", {}, "e.csv"); }),
              HasSubstr("line 2, column 2 ('y'): expected a finite number, got ''"));
  EXPECT_THAT(error_message([&] { parse_csv("a,b,y\n1,2,3\n4,5\n", {}, "f.csv"); }),
              HasSubstr("f.csv' line 3: 2 fields; expected 3 (as in the header)"));
  CsvOptions options;
  options.target = "price";
  EXPECT_THAT(error_message([&] { parse_csv("a,y\n1,2\n", options, "g.csv"); }),
              HasSubstr("no column named 'price'; the header has 'a', 'y'"));
  options.target = 5;
  EXPECT_THAT(error_message([&] { parse_csv("a,y\n1,2\n", options, "g.csv"); }),
              HasSubstr("column index 5 outside the 2 columns"));
  options.header = false;
  options.target = "y";
  EXPECT_THAT(error_message([&] { parse_csv("1,2\n", options, "h.csv"); }), HasSubstr("has no header"));
}

TEST(CsvErrors, ClassificationTargetMustBeANonNegativeInteger) {
  CsvOptions options;
  options.target_kind = TargetKind::Classification;
  EXPECT_THAT(error_message([&] { parse_csv("a,y\n1,2\n3,1.5\n", options, "c.csv"); }),
              HasSubstr("line 3, column 2 ('y'): expected a class index (an integer from 0 to 99999), got '1.5'"));
  EXPECT_THAT(error_message([&] { parse_csv("a,y\n1,-1\n", options, "c.csv"); }), HasSubstr("got '-1'"));
}

TEST(CsvErrors, ValuesBeyondFloat32LabelsBeyondTheClassBoundAndAmbiguousNames) {
  CsvOptions options;
  EXPECT_THAT(error_message([&] { parse_csv("a,y\n1,2\n1e39,1\n", options, "f.csv"); }),
              HasSubstr("f.csv' line 3, column 1 ('a'): 1e39 is beyond float32's range"));
  EXPECT_THAT(error_message([&] { parse_csv("a,y\n1,-3.5e38\n", options, "f.csv"); }), HasSubstr("beyond float32's range"));
  EXPECT_NO_THROW(parse_csv("a,y\n3.4e38,-3.4e38\n", options, "f.csv"));
  options.target_kind = TargetKind::Classification;
  EXPECT_THAT(error_message([&] { parse_csv("a,y\n1,1000000000\n", options, "c.csv"); }),
              HasSubstr("c.csv' line 2, column 2 ('y'): expected a class index (an integer from 0 to 99999), got '1000000000'"));
  options.target = std::string("a");
  EXPECT_THAT(error_message([&] { parse_csv("a,a,y\n1,2,0\n", options, "d.csv"); }),
              HasSubstr("column name 'a' is ambiguous: columns 1 and 2 both have it"));
  options.target = std::string("y");
  EXPECT_NO_THROW(parse_csv("a,a,y\n1,2,0\n", options, "d.csv"));  // unused duplicates are harmless
}

TEST(CsvErrors, HugeCellsAndHeadersAreCutInMessages) {
  CsvOptions options;
  const std::string message = error_message([&] { parse_csv("a,y\n" + std::string(1000000, 'x') + ",1\n", options, "h.csv"); });
  EXPECT_THAT(message, HasSubstr("more bytes)"));
  EXPECT_LT(message.size(), 600u);
  std::string header;
  for (int i = 0; i < 20000; ++i) {
    header += 'c';
    header += std::to_string(i);
    header += ',';
  }
  options.target = std::string("missing");
  const std::string unknown = error_message([&] { parse_csv(header + "y\n" + std::string(20000, '1') + "\n", options, "w.csv"); });
  EXPECT_THAT(unknown, HasSubstr("no column named 'missing'"));
  EXPECT_THAT(unknown, HasSubstr("and 19981 more"));
  EXPECT_LT(unknown.size(), 1000u);
}

TEST(CsvErrors, EmptyFileHeaderOnlyAndUnclosedQuote) {
  TempDir dir;
  const auto empty_path = dir.write("empty.csv", "");
  EXPECT_THAT(error_message([&] { read_csv(empty_path); }), HasSubstr(empty_path.string() + "' is empty"));
  EXPECT_THAT(error_message([&] { parse_csv("a,b\n", {}, "h.csv"); }), HasSubstr("no data rows"));
  EXPECT_THAT(error_message([&] { parse_csv("a,b\n1,\"2\n", {}, "u.csv"); }),
              HasSubstr("line 2, column 2: quoted field not closed"));
  EXPECT_THAT(error_message([&] { read_csv(dir.file("missing.csv")); }), HasSubstr("does not exist"));
}
