#pragma once
// The pieces of a report, apart from the file it is written to: what kind of folder a path is, the data
// the page draws (read from the folder's files), and the page itself. write_report (report.hpp) chains
// them; tests call them one by one.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace descent::report {

// "run", "lr_find", "comparison", "study", "trajectories", "momentum_study", "landscape", "sharpness" or
// "regularization", recognised by the files docs/FORMATS.md lists. Throws descent::Error naming the folder
// and the files expected when it is none of them.
std::string folder_kind(const std::filesystem::path& dir);

// {kind, title, dir, generated, ...what that kind's page draws}: the folder's JSON with the curves its
// charts need (read from the runs' epochs.csv / steps.csv) added.
nlohmann::json report_data(const std::filesystem::path& dir);

// The whole HTML page for `data`: the chart library, the page code and `data` inline.
std::string render_page(const nlohmann::json& data);

// `value` as JSON that is safe inside an HTML <script> element: '<', '>', '&', U+2028 and U+2029 are
// written as \u escapes, so no string can close the element or start markup; invalid UTF-8 becomes U+FFFD.
std::string json_for_script(const nlohmann::json& value);

// Text with '&', '<', '>', '"' and '\'' replaced by character references.
std::string escape_html(std::string_view text);

}  // namespace descent::report
