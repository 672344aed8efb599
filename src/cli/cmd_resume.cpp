// `descent resume RUN_DIR`: continues an interrupted run from its newest valid checkpoint.
#include <iostream>

#include "command.hpp"
#include "descent/core/interrupt.hpp"
#include "descent/report/report.hpp"
#include "descent/train/run.hpp"

namespace descent::cli {

static RegisterCommand reg_resume{
    "resume", "continue an interrupted run from its newest valid checkpoint", [](CLI::App& sub) {
      auto run_dir = std::make_shared<std::string>();
      auto progress = std::make_shared<std::string>();
      sub.add_option("run_dir", *run_dir, "run folder written by `descent train`")->required();
      sub.add_option("--progress", *progress, "auto, bar, log or none")->check(CLI::IsMember({"auto", "bar", "log", "none"}));
      sub.callback([run_dir, progress] {
        install_stop_handlers();  // Ctrl-C / SIGTERM: checkpoint where training is and exit 130 / 143
        train::RunOptions options;
        if (!progress->empty()) options.progress = *progress;
        const auto summary = train::resume_run(*run_dir, options);
        report::try_write_report(*run_dir, std::cerr);
        report_run_outcome(summary.dump());
        std::cout << summary.dump() << std::endl;
      });
    }};

}  // namespace descent::cli
