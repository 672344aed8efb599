// `descent sharpness CONFIG`: the same model trained with several optimizers (SGD and Adam by default);
// the top Hessian eigenvalue of each trained model (docs/LANDSCAPE.md). Writes sharpness.json, one run
// folder per optimizer under runs/, and the HTML report.
#include <iostream>
#include <memory>

#include "command.hpp"
#include "descent/landscape/studies.hpp"
#include "descent/report/report.hpp"
#include "descent/train/run.hpp"

namespace descent::cli {
namespace {

struct SharpnessCommand {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  bool report = true;
};

void run_sharpness(const SharpnessCommand& c) {
  const auto study = landscape::load_study_config(c.config, "sharpness", c.overrides);
  const auto options = landscape::parse_sharpness(study.table);
  std::filesystem::path out = c.out;
  if (out.empty()) out = train::default_run_dir(train::parse_config(study.base), c.config);
  const auto result = landscape::run_sharpness_study(study, options, out, stderr);
  for (const auto& run : result["runs"])
    std::cout << run["label"].get<std::string>() << ": top Hessian eigenvalue " << run["top_eigenvalue"].get<double>()
              << ", train loss " << run["final"]["train_loss"].dump() << ", val loss " << run["final"]["val_loss"].dump()
              << "\n";
  std::cout << "sharpness: " << (out / "sharpness.json").string() << "\n";
  if (!c.report) return;
  try {
    std::cout << "report: " << report::write_report(out).string() << "\n";
  } catch (const Error& e) {
    std::cerr << "descent: sharpness: the report was not written: " << e.what() << "\n";
  }
}

}  // namespace

static RegisterCommand reg_sharpness{
    "sharpness", "train one model with several optimizers and compare the sharpness (top Hessian eigenvalue) reached",
    [](CLI::App& sub) {
      auto c = std::make_shared<SharpnessCommand>();
      sub.add_option("config", c->config, "training config with a [sharpness] table (examples/sharpness-*.toml)")
          ->required();
      sub.add_option("--set", c->overrides, "override a config key: --set trainer.epochs=2 (repeatable)");
      sub.add_option("--out", c->out, "study folder (default runs/<name>-<UTC date-time>)");
      sub.add_flag("!--no-report", c->report, "do not write the HTML report");
      sub.callback([c] { run_sharpness(*c); });
    }};

}  // namespace descent::cli
