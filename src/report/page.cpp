// The HTML page: a fixed frame around the embedded chart library, descent's page code and the report's
// data. Everything that came from the user (names, labels, paths, config text) travels only inside the
// JSON data element, escaped so that it cannot end the element, and the page code puts it on screen with
// textContent; the <title> is the one user string in markup, and it is escaped as HTML text.
#include <algorithm>
#include <cctype>
#include <string>

#include "assets.hpp"
#include "descent/core/error.hpp"
#include "descent/report/page.hpp"

namespace descent::report {
namespace {

bool contains_script_end(std::string_view text) {
  for (std::size_t at = text.find("</"); at != std::string_view::npos; at = text.find("</", at + 2)) {
    const std::string_view tag = text.substr(at + 2, 6);
    if (tag.size() == 6 && std::equal(tag.begin(), tag.end(), "script",
                                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
      return true;
  }
  return false;
}

// An inline script must not contain "</script": it would end the element early.
std::string_view checked_script(std::string_view text, const char* what) {
  DESCENT_CHECK(!contains_script_end(text), "report: the embedded ", what,
                " contains \"</script\" and cannot be inlined; rebuild with the version pinned in web/package.json");
  return text;
}

// The page allows no network access at all: every byte it needs is in the file.
constexpr const char* kContentPolicy =
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; worker-src blob:";

}  // namespace

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string json_for_script(const nlohmann::json& value) {
  // These characters can only occur inside JSON strings, where the \u form means the same thing.
  const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' && (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_page(const nlohmann::json& data) {
  static const std::string_view plotly = checked_script(assets::plotly(), "chart library (plotly.min.js)");
  static const std::string_view status_js = checked_script(assets::status_js(), "web/report/status.js");
  static const std::string_view page_js = checked_script(assets::page_js(), "page code (web/report/*.js)");
  const std::string title = "descent report: " + data.value("title", std::string("untitled"));

  std::string page;
  page.reserve(plotly.size() + page_js.size() + 65536);
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<meta http-equiv=\"Content-Security-Policy\" content=\"";
  page += kContentPolicy;
  page += "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  page += escape_html(title);
  page += "</title>\n<style>\n";
  page += assets::page_css();
  page += "\n</style>\n<script>\n";
  page += status_js;
  page += "\n</script>\n<script>\n";
  page += plotly;
  page += "\n</script>\n</head>\n<body>\n<header id=\"descent-report-header\"></header>\n";
  page += "<main id=\"descent-report\"></main>\n";
  page += "<pre id=\"descent-report-status\" data-state=\"pending\" hidden></pre>\n";
  page += "<script type=\"application/json\" id=\"descent-report-data\">";
  page += json_for_script(data);
  page += "</script>\n<script>\n";
  page += page_js;
  page += "\n</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace descent::report
