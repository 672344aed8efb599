// `descent report DIR`: the self-contained HTML report of a run or study folder (docs/REPORT.md).
#include <iostream>
#include <memory>

#include "command.hpp"
#include "descent/report/report.hpp"

namespace descent::cli {
namespace {

struct ReportCommandOptions {
  std::string dir;
  std::string out;
};

}  // namespace

static RegisterCommand reg_report{
    "report", "write the HTML report of a run or study folder (one self-contained file)", [](CLI::App& sub) {
      auto o = std::make_shared<ReportCommandOptions>();
      sub.add_option("dir", o->dir, "run, lr-find, comparison, study, trajectories, momentum, landscape, "
                                    "sharpness or regularization folder")
          ->required();
      sub.add_option("--out", o->out, "the HTML file to write (default: DIR/report.html)");
      sub.callback([o] {
        report::ReportOptions options;
        if (!o->out.empty()) options.out = o->out;
        std::cout << report::write_report(o->dir, options).string() << std::endl;
      });
    }};

}  // namespace descent::cli
