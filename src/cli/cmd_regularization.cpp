// `descent regularization CONFIG`: the same model trained with and without dropout, weight decay and
// batch norm (variants as config overrides); the train/validation gap of each (docs/LANDSCAPE.md).
// Writes regularization.json, one run folder per variant under runs/, and the HTML report.
#include <iostream>
#include <memory>

#include "command.hpp"
#include "descent/landscape/studies.hpp"
#include "descent/report/report.hpp"
#include "descent/train/run.hpp"

namespace descent::cli {
namespace {

struct RegularizationCommand {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  bool report = true;
};

void run_regularization(const RegularizationCommand& c) {
  const auto study = landscape::load_study_config(c.config, "regularization", c.overrides);
  const auto variants = landscape::parse_regularization(study.table);
  std::filesystem::path out = c.out;
  if (out.empty()) out = train::default_run_dir(train::parse_config(study.base), c.config);
  const auto result = landscape::run_regularization_study(study, variants, out, stderr);
  for (const auto& v : result["variants"])
    std::cout << v["name"].get<std::string>() << ": train loss " << v["final"]["train_loss"].dump() << ", val loss "
              << v["final"]["val_loss"].dump() << ", gap " << v["gap"]["loss"].dump() << " (accuracy gap "
              << v["gap"]["accuracy"].dump() << ")\n";
  std::cout << "regularization: " << (out / "regularization.json").string() << "\n";
  if (!c.report) return;
  try {
    std::cout << "report: " << report::write_report(out).string() << "\n";
  } catch (const Error& e) {
    std::cerr << "descent: regularization: the report was not written: " << e.what() << "\n";
  }
}

}  // namespace

static RegisterCommand reg_regularization{
    "regularization", "train one model with and without dropout, weight decay, batch norm and compare train/val gaps",
    [](CLI::App& sub) {
      auto c = std::make_shared<RegularizationCommand>();
      sub.add_option("config", c->config, "training config with a [regularization] table (examples/regularization-*.toml)")
          ->required();
      sub.add_option("--set", c->overrides, "override a config key: --set trainer.epochs=2 (repeatable)");
      sub.add_option("--out", c->out, "study folder (default runs/<name>-<UTC date-time>)");
      sub.add_flag("!--no-report", c->report, "do not write the HTML report");
      sub.callback([c] { run_regularization(*c); });
    }};

}  // namespace descent::cli
