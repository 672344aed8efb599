// `descent momentum-study --condition K [--dims n] [--lrs a:b:n] [--momenta a:b:n] [--steps N]`: sweeps
// SGD's learning rate and heavy-ball momentum on a quadratic of condition number K, measures each
// convergence rate and compares the best with Polyak's optimum (see descent/trajectory/momentum.hpp).
// Writes momentum.json (docs/FORMATS.md) and the HTML report.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include "command.hpp"
#include "descent/core/error.hpp"
#include "descent/report/report.hpp"
#include "descent/trajectory/momentum.hpp"
#include "descent/trajectory/trajectory.hpp"
#include "descent/train/run.hpp"

namespace descent::cli {
namespace {

struct MomentumArgs {
  double condition = 100;
  double mu = 1;
  int dims = 2;
  std::string lrs, momenta;
  std::int64_t steps = 1000;
  std::string out;
  bool no_report = false;
};

void run(const MomentumArgs& args) {
  trajectory::MomentumStudyOptions options;
  options.condition_number = args.condition;
  options.mu = args.mu;
  options.dims = args.dims;
  options.steps = args.steps;
  if (!args.lrs.empty()) options.lrs = trajectory::parse_range(args.lrs, "momentum-study: --lrs");
  if (!args.momenta.empty()) options.momenta = trajectory::parse_range(args.momenta, "momentum-study: --momenta");
  const auto study = trajectory::run_momentum_study(options);

  char condition[32];
  std::snprintf(condition, sizeof(condition), "%g", args.condition);
  const std::filesystem::path dir =
      args.out.empty() ? std::filesystem::path("runs") / ("momentum-" + std::string(condition) + "-" + train::utc_stamp())
                       : std::filesystem::path(args.out);
  std::filesystem::create_directories(dir);
  trajectory::write_atomically(dir / "momentum.json", trajectory::momentum_json(study).dump(2) + "\n");

  const auto& theory = study.theory;
  std::printf("quadratic: %d dims, eigenvalues in [%g, %g], condition number %g\n", args.dims, args.mu,
              args.mu * args.condition, args.condition);
  std::printf("%-28s  %12s  %10s  %10s  %10s\n", "", "lr", "momentum", "rate", "measured");
  std::printf("%-28s  %12.6g  %10.6g  %10.6g  %10.6g\n", "heavy ball, Polyak optimum", theory.lr, theory.momentum,
              theory.rate, study.theory_rate_measured);
  std::printf("%-28s  %12.6g  %10.6g  %10s  %10.6g\n", "best on the grid", study.best_lr, study.best_momentum, "",
              study.best_rate);
  std::printf("%-28s  %12.6g  %10.6g  %10.6g  %10.6g\n", "gradient descent, 2/(L+mu)", theory.gd_lr, 0.0,
              theory.gd_rate, study.gd_rate_measured);
  std::printf("%zu x %zu grid, %lld steps each, in %.3f s\n", study.options.momenta.size(), study.options.lrs.size(),
              static_cast<long long>(args.steps), study.compute_seconds);
  std::cout << "wrote " << (dir / "momentum.json").string() << "\n";
  if (!args.no_report) std::cout << "report: " << report::write_report(dir).string() << "\n";
}

void setup(CLI::App& sub) {
  auto args = std::make_shared<MomentumArgs>();
  sub.add_option("--condition", args->condition, "condition number L/mu of the quadratic")->required();
  sub.add_option("--mu", args->mu, "smallest eigenvalue")->default_val(1.0);
  sub.add_option("--dims", args->dims, "dimensions (eigenvalues log-spaced from mu to L)")->default_val(2);
  sub.add_option("--lrs", args->lrs, "learning rates a:b:n (default 0.1..2 x Polyak's optimum, 39 values)");
  sub.add_option("--momenta", args->momenta, "momenta a:b:n (default 0:0.98:50)");
  sub.add_option("--steps", args->steps, "steps per run")->default_val(1000);
  sub.add_option("--out", args->out, "output folder (default runs/momentum-<condition>-<UTC time>)");
  sub.add_flag("--no-report", args->no_report, "write momentum.json only, not report.html");
  sub.callback([args] { run(*args); });
}

RegisterCommand registration{"momentum-study",
                             "sweep heavy-ball momentum and lr on a quadratic against Polyak's optimum", setup};

}  // namespace
}  // namespace descent::cli
