#include "descent/search/sampler.hpp"

#include "descent/core/error.hpp"
#include "descent/search/grid.hpp"
#include "descent/search/random.hpp"
#include "descent/search/sobol.hpp"
#include "options.hpp"

namespace descent::search {

std::vector<std::string> sampler_names() { return {"grid", "random", "sobol"}; }

std::unique_ptr<Sampler> make_sampler(const std::string& name, const nlohmann::json& options, Direction direction,
                                      std::uint64_t seed) {
  (void)direction;
  detail::OptionReader reader(name, options);
  std::unique_ptr<Sampler> sampler;
  if (name == "grid") {
    sampler = std::make_unique<GridSampler>(std::size_t(reader.integer("grid_points", 5, 1, 1000)));
  } else if (name == "random") {
    sampler = std::make_unique<RandomSampler>(seed);
  } else if (name == "sobol") {
    const auto skip = std::uint64_t(reader.integer("skip", 0, 0, std::int64_t(1) << 31));
    sampler = std::make_unique<SobolSampler>(seed, skip, reader.boolean("scramble", false));
  } else {
    std::string list;
    for (const auto& n : sampler_names()) list += (list.empty() ? "" : ", ") + n;
    throw Error("sampler: got \"" + name + "\", expected one of " + list);
  }
  reader.finish();
  return sampler;
}

}  // namespace descent::search
