// `descent lr-find CONFIG`: the learning-rate range test on a config's data, model, optimizer and loss.
// Prints the suggestions and writes the curve (lr_find.json, lr_find.csv) into the run folder.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "descent/autograd/autocast.hpp"
#include "descent/report/report.hpp"
#include "descent/core/parallel.hpp"
#include "descent/tools/lr_finder.hpp"
#include "descent/train/builders.hpp"
#include "descent/train/run.hpp"

namespace descent::cli {
namespace {

struct LrFindOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  tools::LrFinderOptions finder;
};

void write_atomically(const std::filesystem::path& path, const std::string& text) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    DESCENT_CHECK(out.good(), "lr-find: cannot write ", tmp);
    out << text;
    DESCENT_CHECK(out.good(), "lr-find: writing ", tmp, " failed");
  }
  std::filesystem::rename(tmp, path);
}

void run_lr_find(const LrFindOptions& o) {
  const train::Config config = train::load_config(o.config, o.overrides);
  if (config.trainer.threads > 0) set_num_threads(int(config.trainer.threads));
  std::filesystem::path dir = o.out;
  if (dir.empty()) {
    dir = train::default_run_dir(config, o.config);
    dir += "-lr-find";
  }
  std::filesystem::create_directories(dir);

  const auto splits = train::build_datasets(config.data, config.seed);
  const auto loader = train::make_train_loader(splits, config.data, config.seed);
  auto model = train::build_model(config.model, splits.sample_shape, splits.num_outputs, config.seed);
  model->build_arena();
  auto optimizer = train::build_optimizer(config.optimizer, *model);
  const auto loss = train::build_loss(config.trainer, splits.classification);
  const Precision precision = parse_precision(config.trainer.precision, "trainer.precision");
  auto result = tools::lr_find(
      *model, *optimizer, loader,
      [&](nn::Module& m, const data::Batch& batch) {
        Autocast autocast(precision);  // the graph keeps the 16-bit copies its backward needs
        return loss(m.forward(batch.inputs), batch.targets);
      },
      o.finder);

  nlohmann::json suggestions = nlohmann::json::object();
  for (const auto& s : result.suggestions)
    if (s.index >= 0) suggestions[s.rule] = s.lr;
  nlohmann::json curve = {{"config", o.config},
                          {"options",
                           {{"start_lr", o.finder.start_lr},
                            {"end_lr", o.finder.end_lr},
                            {"iterations", o.finder.iterations},
                            {"mode", o.finder.mode},
                            {"smoothing", o.finder.smoothing},
                            {"divergence_factor", o.finder.divergence_factor}}},
                          {"lr", result.lrs},
                          {"loss", result.losses},
                          {"smoothed_loss", result.smoothed_losses},
                          {"diverged", result.diverged},
                          {"suggestions", suggestions}};
  write_atomically(dir / "lr_find.json", curve.dump(1) + "\n");
  std::ostringstream csv;
  csv << std::setprecision(10) << "step,lr,loss,smoothed_loss\n";
  for (std::size_t i = 0; i < result.lrs.size(); ++i)
    csv << i << ',' << result.lrs[i] << ',' << result.losses[i] << ',' << result.smoothed_losses[i] << '\n';
  write_atomically(dir / "lr_find.csv", csv.str());

  std::cerr << "lr-find: " << result.lrs.size() << " iterations"
            << (result.diverged ? " (stopped: the loss diverged)" : "") << "\n";
  for (const auto& s : result.suggestions) {
    if (s.index < 0) continue;
    std::cerr << "  " << std::left << std::setw(9) << s.rule << std::setprecision(4) << s.lr << "\n";
  }
  std::cerr << "curve: " << (dir / "lr_find.csv").string() << "\n";
  report::try_write_report(dir, std::cerr);
  std::cout << nlohmann::json({{"run_dir", dir.string()},
                               {"iterations", result.lrs.size()},
                               {"diverged", result.diverged},
                               {"suggestions", suggestions}})
                   .dump()
            << std::endl;
}

}  // namespace

static RegisterCommand reg_lr_find{
    "lr-find", "learning-rate range test: suggestions and the loss curve (JSON, CSV)", [](CLI::App& sub) {
      auto o = std::make_shared<LrFindOptions>();
      sub.add_option("config", o->config, "TOML config")->required()->check(CLI::ExistingFile);
      sub.add_option("--set", o->overrides, "override a config key: key.path=value (repeatable)");
      sub.add_option("--out", o->out, "output folder (default: runs/<name>-<time>-lr-find)");
      sub.add_option("--start-lr", o->finder.start_lr, "first learning rate")->check(positive_number());
      sub.add_option("--end-lr", o->finder.end_lr, "last learning rate")->check(positive_number());
      sub.add_option("--iterations", o->finder.iterations, "mini-batches (one per learning rate)")
          ->check(positive_number());
      sub.add_option("--mode", o->finder.mode, "exponential or linear")
          ->check(CLI::IsMember({"exponential", "linear"}));
      sub.add_option("--smoothing", o->finder.smoothing, "EMA coefficient of the loss, in [0, 1)");
      sub.add_option("--divergence", o->finder.divergence_factor, "stop when the smoothed loss exceeds this multiple of the best");
      sub.callback([o] { run_lr_find(*o); });
    }};

}  // namespace descent::cli
