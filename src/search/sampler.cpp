#include "descent/search/sampler.hpp"

#include "descent/core/error.hpp"
#include "descent/core/options.hpp"
#include "descent/search/gp.hpp"
#include "descent/search/grid.hpp"
#include "descent/search/random.hpp"
#include "descent/search/sobol.hpp"
#include "descent/search/tpe.hpp"

namespace descent::search {

std::vector<std::string> sampler_names() { return {"grid", "random", "sobol", "tpe", "gp"}; }

std::unique_ptr<Sampler> make_sampler(const std::string& name, const nlohmann::json& options, Direction direction,
                                      std::uint64_t seed) {
  OptionTable reader(options, "sampler " + name);
  std::unique_ptr<Sampler> sampler;
  if (name == "grid") {
    sampler = std::make_unique<GridSampler>(std::size_t(reader.integer("grid_points", 5, 1, 1000)));
  } else if (name == "random") {
    sampler = std::make_unique<RandomSampler>(seed);
  } else if (name == "sobol") {
    const auto skip = std::uint64_t(reader.integer("skip", 0, 0, std::int64_t(1) << 31));
    sampler = std::make_unique<SobolSampler>(seed, skip, reader.flag("scramble", false));
  } else if (name == "tpe") {
    TpeOptions o;
    o.n_startup_trials = reader.integer("n_startup_trials", o.n_startup_trials, 0, 1'000'000);
    o.n_ei_candidates = reader.integer("n_ei_candidates", o.n_ei_candidates, 1, 100'000);
    o.gamma_fraction = reader.number("gamma_fraction", o.gamma_fraction, 1e-6, 1.0);
    o.gamma_max = reader.integer("gamma_max", o.gamma_max, 1, 1'000'000);
    o.prior_weight = reader.number("prior_weight", o.prior_weight, 1e-6, 1e6);
    o.consider_endpoints = reader.flag("consider_endpoints", o.consider_endpoints);
    sampler = std::make_unique<TpeSampler>(o, direction, seed);
  } else if (name == "gp") {
    GpOptions o;
    o.n_startup_trials = reader.integer("n_startup_trials", o.n_startup_trials, 1, 1'000'000);
    o.n_candidates = reader.integer("n_candidates", o.n_candidates, 1, 1'000'000);
    o.n_restarts = reader.integer("n_restarts", o.n_restarts, 1, 100);
    o.xi = reader.number("xi", o.xi, 0.0, 10.0);
    sampler = std::make_unique<GpSampler>(o, direction, seed);
  } else {
    const std::string suggestion = closest_match(name, sampler_names());
    throw Error("unknown sampler '" + name + "'" + (suggestion.empty() ? "" : " (did you mean " + suggestion + "?)") +
                "; valid samplers: " + join(sampler_names()));
  }
  reader.finish();
  return sampler;
}

}  // namespace descent::search
