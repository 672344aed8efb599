// `descent eval RUN_DIR`: test-split metrics of a run's checkpoint, as one JSON line.
#include <iostream>

#include "command.hpp"
#include "descent/train/run.hpp"

namespace descent::cli {

static RegisterCommand reg_eval{
    "eval", "evaluate a run's checkpoint on the test split (JSON)", [](CLI::App& sub) {
      auto run_dir = std::make_shared<std::string>();
      auto checkpoint = std::make_shared<std::string>("best");
      sub.add_option("run_dir", *run_dir, "run folder written by `descent train`")->required();
      sub.add_option("--checkpoint", *checkpoint, "best (default), last, or a .safetensors file");
      sub.callback([run_dir, checkpoint] { std::cout << train::evaluate_run(*run_dir, *checkpoint).dump() << std::endl; });
    }};

}  // namespace descent::cli
