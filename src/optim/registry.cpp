// The registry of optimizers by name: one row per algorithm.
#include <map>
#include <mutex>
#include <algorithm>

#include "descent/core/options.hpp"
#include "descent/optim/adabelief.hpp"
#include "descent/optim/adadelta.hpp"
#include "descent/optim/adafactor.hpp"
#include "descent/optim/adagrad.hpp"
#include "descent/optim/adam.hpp"
#include "descent/optim/adamax.hpp"
#include "descent/optim/adan.hpp"
#include "descent/optim/asgd.hpp"
#include "descent/optim/lamb.hpp"
#include "descent/optim/lars.hpp"
#include "descent/optim/lbfgs.hpp"
#include "descent/optim/lion.hpp"
#include "descent/optim/muon.hpp"
#include "descent/optim/nadam.hpp"
#include "descent/optim/novograd.hpp"
#include "descent/optim/radam.hpp"
#include "descent/optim/rmsprop.hpp"
#include "descent/optim/rprop.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/optim/schedule_free_adamw.hpp"
#include "descent/optim/sgd.hpp"
#include "descent/optim/yogi.hpp"

namespace descent::optim {

namespace {

using Factory = std::unique_ptr<Optimizer> (*)(std::vector<Tensor>, const nlohmann::json&);

template <class Algorithm>
std::unique_ptr<Optimizer> build(std::vector<Tensor> params, const nlohmann::json& options) {
  return std::make_unique<Algorithm>(std::move(params), options);
}

struct Entry {
  const char* name;
  Factory factory;
};

const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = {
      {"adadelta", build<Adadelta>}, {"adagrad", build<Adagrad>}, {"adam", build<Adam>},
      {"adamax", build<Adamax>},     {"adamw", build<AdamW>},     {"asgd", build<ASGD>},
      {"nadam", build<NAdam>},       {"radam", build<RAdam>},     {"rmsprop", build<RMSprop>},
      {"rprop", build<Rprop>},       {"sgd", build<Sgd>},
      {"adafactor", build<Adafactor>}, {"lbfgs", build<LBFGS>}, {"muon", build<Muon>},
      // Optax-family algorithms (optax 0.2.8 semantics, PyTorch-style option names)
      {"adabelief", build<AdaBelief>}, {"adan", build<Adan>}, {"lamb", build<Lamb>},
      {"lars", build<Lars>}, {"lion", build<Lion>}, {"novograd", build<NovoGrad>},
      {"schedule_free_adamw", build<ScheduleFreeAdamW>}, {"yogi", build<Yogi>},
  };
  return entries;
}

}  // namespace

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  return names;
}

const nlohmann::json& optimizer_defaults(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, nlohmann::json> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(name);
  if (it == cache.end()) {
    // Defaults live in each algorithm's constructor; one probe parameter reads them.
    Tensor probe = zeros(Shape{1});
    probe.set_grad(zeros(Shape{1}));
    it = cache.emplace(name, make_optimizer(name, {probe}, nlohmann::json::object())->defaults()).first;
  }
  return it->second;
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<Tensor> params,
                                          const nlohmann::json& options) {
  for (const auto& entry : registry())
    if (name == entry.name) return entry.factory(std::move(params), options);
  const std::string suggestion = closest_match(name, optimizer_names());
  throw Error(detail::concat("unknown optimizer '", name, "'", suggestion.empty() ? "" : " (did you mean " + suggestion + "?)",
                             "; valid names: ", join(optimizer_names())));
}

}  // namespace descent::optim
