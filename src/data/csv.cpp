#include "descent/data/csv.hpp"

#include <charconv>
#include <cmath>
#include <algorithm>
#include <limits>
#include <sstream>

#include "descent/core/error.hpp"
#include "file_bytes.hpp"

namespace descent::data {

namespace {

struct Field {
  std::string text;
  std::int64_t line = 0;    // 1-based line where the field starts
  std::int64_t column = 0;  // 1-based field number within its record
};

// Splits CSV text into records of fields (RFC 4180 quoting; \n or \r\n line ends; blank lines skipped).
class CsvTokenizer {
 public:
  CsvTokenizer(std::string_view text, char delimiter, const std::string& source)
      : text_(text), delimiter_(delimiter), source_(source) {}

  // The next non-blank record, or false at the end of the text.
  bool next_record(std::vector<Field>& fields) {
    fields.clear();
    while (pos_ < text_.size()) {
      parse_record(fields);
      const bool blank = fields.size() == 1 && fields[0].text.empty() && !last_was_quoted_;
      if (!blank) return true;
      fields.clear();
    }
    return false;
  }

 private:
  void parse_record(std::vector<Field>& fields) {
    while (true) {
      Field field{{}, line_, std::int64_t(fields.size()) + 1};
      last_was_quoted_ = false;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        last_was_quoted_ = true;
        ++pos_;
        while (true) {
          DESCENT_CHECK(pos_ < text_.size(), "CSV file '", source_, "' line ", field.line, ", column ",
                        field.column, ": quoted field not closed; expected a closing '\"' before the end of file");
          const char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              field.text += '"';
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          field.text += c;
        }
        // After the closing quote only the delimiter or the line end may follow (spaces tolerated).
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t') && text_[pos_] != delimiter_)
          ++pos_;
        DESCENT_CHECK(pos_ >= text_.size() || text_[pos_] == delimiter_ || text_[pos_] == '\n' ||
                          text_[pos_] == '\r',
                      "CSV file '", source_, "' line ", line_, ", column ", field.column,
                      ": unexpected character after a closing quote; expected the delimiter or the end of the line");
      } else {
        while (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '\n' && text_[pos_] != '\r')
          field.text += text_[pos_++];
      }
      fields.push_back(std::move(field));
      if (pos_ >= text_.size()) return;
      const char c = text_[pos_++];
      if (c == delimiter_) continue;
      if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      return;
    }
  }

  std::string_view text_;
  char delimiter_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 1;
  bool last_was_quoted_ = false;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string describe_column(const std::vector<std::string>& names, std::size_t index) {
  std::string out = std::to_string(index + 1);
  if (index < names.size() && !names[index].empty()) out += " ('" + names[index] + "')";
  return out;
}

double parse_number(const Field& field, const std::vector<std::string>& names, const std::string& source) {
  std::string_view s = trim(field.text);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double value = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  const bool whole = ec == std::errc() && end == s.data() + s.size() && !s.empty();
  DESCENT_CHECK(whole && std::isfinite(value), "CSV file '", source, "' line ", field.line, ", column ",
                describe_column(names, std::size_t(field.column - 1)), ": expected a finite number, got '",
                clip_for_message(field.text), "'");
  // Values are stored as float32: a larger magnitude would become infinite.
  DESCENT_CHECK(std::abs(value) <= double(std::numeric_limits<float>::max()), "CSV file '", source, "' line ",
                field.line, ", column ", describe_column(names, std::size_t(field.column - 1)), ": ",
                clip_for_message(field.text), " is beyond float32's range (magnitude at most 3.4e38)");
  return value;
}

// Resolves a column reference to a 0-based index among `count` columns.
std::size_t resolve(const ColumnRef& column, const std::vector<std::string>& names, std::size_t count,
                    bool has_header, const std::string& source) {
  if (const auto* name = std::get_if<std::string>(&column.ref)) {
    DESCENT_CHECK(has_header, "CSV file '", source, "': column '", *name,
                  "' given by name but the file has no header; expected a column index");
    std::vector<std::size_t> matches;
    for (std::size_t i = 0; i < names.size(); ++i)
      if (trim(names[i]) == *name) matches.push_back(i);
    DESCENT_CHECK(matches.size() < 2, "CSV file '", source, "': column name '", clip_for_message(*name),
                  "' is ambiguous: columns ", matches[0] + 1, " and ", matches[1] + 1,
                  " both have it in the header; rename one, or give the column by index");
    if (matches.size() == 1) return matches[0];
    std::ostringstream known;
    const std::size_t shown = std::min<std::size_t>(names.size(), 20);
    for (std::size_t i = 0; i < shown; ++i) known << (i ? ", " : "") << "'" << clip_for_message(names[i], 40) << "'";
    if (names.size() > shown) known << " and " << names.size() - shown << " more";
    throw Error(detail::concat("CSV file '", source, "': no column named '", clip_for_message(*name),
                               "'; the header has ", known.str()));
  }
  const std::int64_t index = std::get<std::int64_t>(column.ref);
  const std::int64_t resolved = index < 0 ? index + std::int64_t(count) : index;
  DESCENT_CHECK(resolved >= 0 && resolved < std::int64_t(count), "CSV file '", source, "': column index ", index,
                " outside the ", count, " columns (0 to ", count - 1, ", or negative from the end)");
  return std::size_t(resolved);
}

}  // namespace

TensorDataset parse_csv(std::string_view text, const CsvOptions& options, const std::string& source) {
  DESCENT_CHECK(options.delimiter != '"' && options.delimiter != '\n' && options.delimiter != '\r',
                "CSV options: delimiter '", options.delimiter, "' cannot be a quote or a line end");
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  CsvTokenizer tokenizer(text, options.delimiter, source);
  std::vector<Field> record;
  DESCENT_CHECK(tokenizer.next_record(record), "CSV file '", source, "' is empty; expected ",
                options.header ? "a header and " : "", "at least one data row");

  std::vector<std::string> names;
  std::vector<Field> first_data;
  const std::size_t column_count = record.size();
  if (options.header) {
    for (auto& field : record) names.push_back(std::string(trim(field.text)));
    DESCENT_CHECK(tokenizer.next_record(first_data), "CSV file '", source,
                  "' has a header but no data rows; expected at least one");
  } else {
    first_data = record;
  }

  const std::size_t target = resolve(options.target, names, column_count, options.header, source);
  std::vector<std::size_t> features;
  if (options.features.empty()) {
    for (std::size_t i = 0; i < column_count; ++i)
      if (i != target) features.push_back(i);
  } else {
    for (const auto& column : options.features) {
      const std::size_t index = resolve(column, names, column_count, options.header, source);
      DESCENT_CHECK(index != target, "CSV options: column ", describe_column(names, index),
                    " is both a feature and the target");
      features.push_back(index);
    }
  }
  DESCENT_CHECK(!features.empty(), "CSV file '", source, "': no feature columns; expected at least one besides ",
                "the target");

  std::vector<float> inputs;
  std::vector<float> regression_targets;
  std::vector<std::int64_t> class_targets;
  std::int64_t rows = 0;
  record = std::move(first_data);
  do {
    DESCENT_CHECK(record.size() == column_count, "CSV file '", source, "' line ", record.front().line, ": ",
                  record.size(), " fields; expected ", column_count, options.header ? " (as in the header)" :
                  " (as in the first row)");
    for (std::size_t column : features) inputs.push_back(float(parse_number(record[column], names, source)));
    const Field& cell = record[target];
    const double value = parse_number(cell, names, source);
    if (options.target_kind == TargetKind::Classification) {
      // The largest label sets the number of classes (the model's output width), so it is bounded.
      DESCENT_CHECK(value >= 0 && value == std::floor(value) && value < double(kMaxClasses), "CSV file '", source,
                    "' line ", cell.line, ", column ", describe_column(names, target),
                    ": expected a class index (an integer from 0 to ", kMaxClasses - 1, "), got '",
                    clip_for_message(cell.text), "'");
      class_targets.push_back(std::int64_t(value));
    } else {
      regression_targets.push_back(float(value));
    }
    ++rows;
  } while (tokenizer.next_record(record));

  const auto feature_count = std::int64_t(features.size());
  Tensor input_tensor = from_vector(inputs, Shape{rows, feature_count});
  Tensor target_tensor = options.target_kind == TargetKind::Classification
                             ? from_vector(class_targets, Shape{rows})
                             : from_vector(regression_targets, Shape{rows, 1});
  return TensorDataset(std::move(input_tensor), std::move(target_tensor));
}

TensorDataset read_csv(const std::filesystem::path& path, const CsvOptions& options) {
  const auto bytes = file_io::read_file_bytes(path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return parse_csv(text, options, path.string());
}

}  // namespace descent::data
