// `descent landscape RUN_DIR`: the loss landscape of a finished run (docs/LANDSCAPE.md): the loss along the
// line from the initial to the trained weights, a 2-D filter-normalised slice around the trained weights,
// and the top Hessian eigenvalue. Writes RUN_DIR/landscape/landscape.json and its HTML report.
#include <iostream>
#include <memory>

#include "command.hpp"
#include "descent/landscape/landscape.hpp"
#include "descent/report/report.hpp"

namespace descent::cli {
namespace {

struct LandscapeCommand {
  std::string run_dir;
  landscape::LandscapeOptions options;
  bool report = true;
};

void run_landscape(const LandscapeCommand& c) {
  const std::filesystem::path run_dir = c.run_dir;
  const auto result = landscape::compute_landscape(run_dir, c.options, stderr);
  const auto folder = run_dir / "landscape";
  const auto file = folder / "landscape.json";
  landscape::write_json_atomic(file, result);
  const auto& hessian = result["hessian"];
  std::cout << "top Hessian eigenvalue: " << hessian["top_eigenvalue"].get<double>() << " ("
            << hessian["iterations"].size() << " power iterations"
            << (hessian["converged"].get<bool>() ? "" : ", not converged: raise --hessian-iters") << ")\n"
            << "landscape: " << file.string() << "\n";
  if (!c.report) return;
  try {
    std::cout << "report: " << report::write_report(folder).string() << "\n";
  } catch (const Error& e) {
    // The measurements are written; a report that fails does not take them back.
    std::cerr << "descent: landscape: the report was not written: " << e.what() << "\n";
  }
}

}  // namespace

static RegisterCommand reg_landscape{
    "landscape", "loss landscape of a finished run: line from init, 2-D slice, top Hessian eigenvalue",
    [](CLI::App& sub) {
      auto c = std::make_shared<LandscapeCommand>();
      auto& o = c->options;
      sub.add_option("run_dir", c->run_dir, "run folder written by `descent train`")->required();
      sub.add_option("--checkpoint", o.checkpoint, "best (default; last when there is no best), last, or a .safetensors file");
      sub.add_option("--samples", o.samples, "training samples of the fixed evaluation subset (0: all)")
          ->default_val(o.samples);
      sub.add_option("--grid", o.grid, "points per axis of the 2-D slice")->default_val(o.grid);
      sub.add_option("--range", o.range, "the slice spans [-R, R] along each direction")->default_val(o.range);
      sub.add_option("--line-points", o.line_points, "points on the line from the initial weights")->default_val(o.line_points);
      sub.add_option("--line-from", o.line_start, "first alpha of the line (0: initial weights)")->default_val(o.line_start);
      sub.add_option("--line-to", o.line_end, "last alpha of the line (1: trained weights)")->default_val(o.line_end);
      sub.add_option("--hessian-iters", o.hessian.max_iterations, "most power iterations")
          ->default_val(o.hessian.max_iterations);
      sub.add_option("--hessian-tol", o.hessian.tolerance, "stop when the eigenvalue estimate changes by less than this fraction")
          ->default_val(o.hessian.tolerance);
      sub.add_option("--hessian-eps", o.hessian.epsilon_scale, "finite-difference step as a fraction of ||theta||")
          ->default_val(o.hessian.epsilon_scale);
      sub.add_option("--seed", o.seed, "seed of the random directions and of the power iteration")->default_val(o.seed);
      sub.add_flag("!--no-report", c->report, "do not write the HTML report");
      sub.callback([c] { run_landscape(*c); });
    }};

}  // namespace descent::cli
