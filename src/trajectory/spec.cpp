// Parsing of "name(key=value,...)" lists (see include/descent/trajectory/spec.hpp).
#include "descent/trajectory/spec.hpp"

#include <cstdlib>
#include <map>

#include "descent/core/error.hpp"

namespace descent::trajectory {
namespace {

constexpr const char* kForm = "expected name or name(key=value,...), e.g. adam(lr=0.01,betas=(0.9,0.99))";

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\n") - first + 1);
}

// Splits at the commas outside parentheses; unbalanced parentheses are an Error naming the text.
std::vector<std::string> split_top_level(const std::string& text, const std::string& what) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string current;
  for (const char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    DESCENT_CHECK(depth >= 0, what, " '", text, "' is invalid: unbalanced ')'");
    if (c == ',' && depth == 0) {
      parts.push_back(trimmed(current));
      current.clear();
    } else {
      current += c;
    }
  }
  DESCENT_CHECK(depth == 0, what, " '", text, "' is invalid: unbalanced '('");
  parts.push_back(trimmed(current));
  return parts;
}

nlohmann::json parse_scalar(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size()) {
    // Integers stay integers (T_max=100, history_size=10): some options are checked as integers.
    const auto integer = static_cast<long long>(number);
    if (static_cast<double>(integer) == number && text.find_first_of(".eE") == std::string::npos) return integer;
    return number;
  }
  return text;
}

nlohmann::json parse_value(const std::string& text, const std::string& what, const std::string& item) {
  DESCENT_CHECK(!text.empty(), what, ": '", item, "' has an empty value: ", kForm);
  if (text.front() != '(') return parse_scalar(text);
  DESCENT_CHECK(text.back() == ')', what, ": '", item, "' has a malformed tuple '", text,
                "': expected (a,b)");
  auto tuple = nlohmann::json::array();
  for (const auto& element : split_top_level(text.substr(1, text.size() - 2), what)) {
    DESCENT_CHECK(!element.empty(), what, ": '", item, "' has an empty tuple element in '", text, "'");
    tuple.push_back(parse_value(element, what, item));
  }
  return tuple;
}

}  // namespace

NamedOptions parse_named_options(const std::string& raw, const std::string& what) {
  const std::string text = trimmed(raw);
  DESCENT_CHECK(!text.empty(), what, ": an entry is empty: ", kForm);
  NamedOptions result;
  result.label = text;
  const auto open = text.find('(');
  result.name = trimmed(text.substr(0, open));
  DESCENT_CHECK(!result.name.empty() && result.name.find_first_of(")=") == std::string::npos, what, " '", text,
                "' is invalid: ", kForm);
  if (open == std::string::npos) return result;
  DESCENT_CHECK(text.back() == ')', what, " '", text, "' is invalid: ", kForm);
  const std::string body = text.substr(open + 1, text.size() - open - 2);
  if (trimmed(body).empty()) return result;
  for (const auto& pair : split_top_level(body, what)) {
    const auto equals = pair.find('=');
    DESCENT_CHECK(equals != std::string::npos && equals > 0, what, " '", text, "': '", pair,
                  "' is invalid: expected key=value");
    const std::string key = trimmed(pair.substr(0, equals));
    DESCENT_CHECK(!result.options.contains(key), what, " '", text, "': option '", key, "' is given twice");
    result.options[key] = parse_value(trimmed(pair.substr(equals + 1)), what, pair);
  }
  return result;
}

std::vector<NamedOptions> parse_named_options_list(const std::string& text, const std::string& what) {
  std::vector<NamedOptions> list;
  std::map<std::string, int> seen;
  for (const auto& part : split_top_level(text, what)) {
    list.push_back(parse_named_options(part, what));
    const int count = ++seen[list.back().label];
    if (count > 1) list.back().label += " #" + std::to_string(count);
  }
  return list;
}

}  // namespace descent::trajectory
