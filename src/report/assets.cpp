#include "assets.hpp"

#include <string>

// Symbols defined by the generated report_assets.S (cmake/report.cmake).
#define DESCENT_REPORT_ASSET(name)                          \
  extern "C" const char descent_report_##name##_begin[];    \
  extern "C" const char descent_report_##name##_end[];      \
  static std::string_view name##_bytes() {                  \
    return {descent_report_##name##_begin,                  \
            std::size_t(descent_report_##name##_end - descent_report_##name##_begin)}; \
  }

DESCENT_REPORT_ASSET(plotly)
DESCENT_REPORT_ASSET(status_js)
DESCENT_REPORT_ASSET(common_js)
DESCENT_REPORT_ASSET(run_js)
DESCENT_REPORT_ASSET(compare_js)
DESCENT_REPORT_ASSET(study_js)
DESCENT_REPORT_ASSET(visual_js)
DESCENT_REPORT_ASSET(main_js)
DESCENT_REPORT_ASSET(report_css)

namespace descent::report::assets {

std::string_view plotly() { return plotly_bytes(); }
std::string_view status_js() { return status_js_bytes(); }
std::string_view page_css() { return report_css_bytes(); }

std::string_view page_js() {
  // Each file is its own scope-free script part; joined once, on first use.
  static const std::string joined = [] {
    std::string all;
    for (const std::string_view part : {common_js_bytes(), run_js_bytes(), compare_js_bytes(), study_js_bytes(),
                                        visual_js_bytes(), main_js_bytes()}) {
      all.append(part);
      all.append("\n");
    }
    return all;
  }();
  return joined;
}

}  // namespace descent::report::assets
