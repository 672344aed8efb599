#pragma once
// The files embedded at build time (cmake/report.cmake): the chart library and descent's page code.
#include <string_view>

namespace descent::report::assets {

std::string_view plotly();      // web/node_modules/plotly.js-dist-min/plotly.min.js
std::string_view status_js();   // web/report/status.js: error hooks and the chart count, runs first
std::string_view page_js();     // web/report/{common,run,compare,study,visual,main}.js, in that order
std::string_view page_css();    // web/report/report.css

}  // namespace descent::report::assets
