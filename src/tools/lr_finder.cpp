#include "descent/tools/lr_finder.hpp"

#include <cmath>
#include <limits>
#include <map>

#include "descent/autograd/node.hpp"

namespace descent::tools {

namespace {

void validate(const LrFinderOptions& o) {
  DESCENT_CHECK(o.start_lr > 0 && o.end_lr > o.start_lr, "lr_find: need 0 < start_lr < end_lr, got start_lr ",
                o.start_lr, " and end_lr ", o.end_lr);
  DESCENT_CHECK(o.iterations >= 2, "lr_find: iterations must be at least 2, got ", o.iterations);
  DESCENT_CHECK(o.mode == "exponential" || o.mode == "linear", "lr_find: mode must be 'exponential' or 'linear', got '",
                o.mode, "'");
  DESCENT_CHECK(o.smoothing >= 0 && o.smoothing < 1, "lr_find: smoothing must be in [0, 1), got ", o.smoothing);
  DESCENT_CHECK(o.divergence_factor > 1, "lr_find: divergence_factor must be greater than 1, got ", o.divergence_factor);
}

double lr_at(const LrFinderOptions& o, std::int64_t i) {
  const double t = double(i) / double(o.iterations - 1);
  return o.mode == "exponential" ? o.start_lr * std::pow(o.end_lr / o.start_lr, t)
                                 : o.start_lr + (o.end_lr - o.start_lr) * t;
}

// Deep copies of everything the test changes, to put back afterwards.
struct Snapshot {
  std::map<std::string, Tensor> model;
  optim::StateDict optimizer;
};

Snapshot take_snapshot(const nn::Module& model, const optim::Optimizer& optimizer) {
  Snapshot s;
  for (auto& [name, t] : model.state_dict()) s.model[name] = t.clone();
  s.optimizer = optimizer.state_dict();
  for (auto& [name, t] : s.optimizer.tensors) t = t.clone();
  return s;
}

}  // namespace

double LrFinderResult::suggestion(const std::string& rule) const {
  for (const auto& s : suggestions)
    if (s.rule == rule && s.index >= 0) return s.lr;
  throw Error("lr_find: no '" + rule + "' suggestion (the recorded curve has " + std::to_string(lrs.size()) +
              " points; suggestions need at least 8)");
}

std::vector<LrSuggestion> suggest_learning_rates(const std::vector<double>& lrs_all,
                                                 const std::vector<double>& losses_all) {
  // Drop the first 10% (start-up) and the last 5 points (divergence).
  const std::int64_t n_all = std::int64_t(losses_all.size());
  const std::int64_t begin = n_all / 10, end = n_all - 5;
  std::vector<LrSuggestion> out;
  if (end - begin < 3) {
    for (const char* rule : {"steepest", "valley", "minimum"}) out.push_back({rule, 0.0, -1});
    return out;
  }
  const std::vector<double> lrs(lrs_all.begin() + begin, lrs_all.begin() + end);
  const std::vector<double> losses(losses_all.begin() + begin, losses_all.begin() + end);
  const std::int64_t n = std::int64_t(losses.size());

  std::int64_t steepest = 1;
  double best_slope = std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i + 1 < n; ++i) {
    const double slope = (losses[std::size_t(i + 1)] - losses[std::size_t(i)]) /
                         (std::log(lrs[std::size_t(i + 1)]) - std::log(lrs[std::size_t(i)]));
    if (slope < best_slope) {
      best_slope = slope;
      steepest = i + 1;
    }
  }
  out.push_back({"steepest", lrs[std::size_t(steepest)], begin + steepest});

  std::vector<std::int64_t> run(std::size_t(n), 1);
  std::int64_t max_start = 0, max_end = 0;
  for (std::int64_t i = 1; i < n; ++i) {
    for (std::int64_t j = 0; j < i; ++j) {
      if (losses[std::size_t(i)] < losses[std::size_t(j)] && run[std::size_t(i)] < run[std::size_t(j)] + 1)
        run[std::size_t(i)] = run[std::size_t(j)] + 1;
      if (run[std::size_t(max_end)] < run[std::size_t(i)]) {
        max_end = i;
        max_start = max_end - run[std::size_t(max_end)];
      }
    }
  }
  const double sections = double(max_end - max_start) / 3.0;
  const std::int64_t valley =
      std::clamp<std::int64_t>(max_start + std::int64_t(sections) + std::int64_t(sections / 2.0), 0, n - 1);
  out.push_back({"valley", lrs[std::size_t(valley)], begin + valley});

  std::int64_t minimum = 0;
  for (std::int64_t i = 1; i < n; ++i)
    if (losses[std::size_t(i)] < losses[std::size_t(minimum)]) minimum = i;
  out.push_back({"minimum", lrs[std::size_t(minimum)] / 10.0, begin + minimum});
  return out;
}

LrFinderResult lr_find(nn::Module& model, optim::Optimizer& optimizer, const data::DataLoader& loader,
                       const BatchLoss& loss_fn, const LrFinderOptions& options) {
  validate(options);
  DESCENT_CHECK(loader.batches_per_epoch() > 0, "lr_find: the data loader yields no batches");
  const Snapshot snapshot = take_snapshot(model, optimizer);
  std::vector<double> initial_lrs;
  for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g)
    initial_lrs.push_back(optimizer.hyperparameter(g, "lr"));

  LrFinderResult result;
  double average = 0.0, best = std::numeric_limits<double>::infinity();
  std::int64_t epoch = 0, i = 0;
  const bool was_training = model.is_training();
  model.train();
  while (i < options.iterations) {
    for (auto& batch : loader.epoch(epoch)) {
      if (i >= options.iterations) break;
      const double lr = lr_at(options, i);
      for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g) optimizer.set_hyperparameter(g, "lr", lr);
      optimizer.zero_grad();
      Tensor loss = loss_fn(model, batch);
      const double value = loss.item<double>();
      result.lrs.push_back(lr);
      result.losses.push_back(value);
      if (!std::isfinite(value)) {
        result.diverged = true;
        break;
      }
      autograd::backward(loss);
      optimizer.step();
      average = options.smoothing * average + (1.0 - options.smoothing) * value;
      const double smoothed = average / (1.0 - std::pow(options.smoothing, double(i + 1)));
      result.smoothed_losses.push_back(smoothed);
      best = std::min(best, smoothed);
      ++i;
      if (i > 1 && smoothed > options.divergence_factor * best) {
        result.diverged = true;
        break;
      }
    }
    if (result.diverged) break;
    ++epoch;
  }
  // The non-finite loss has no smoothed value; keep the curves aligned.
  result.lrs.resize(result.smoothed_losses.size());
  result.losses.resize(result.smoothed_losses.size());

  model.load_state_dict(snapshot.model);
  optimizer.load_state_dict(snapshot.optimizer);
  for (std::size_t g = 0; g < initial_lrs.size(); ++g) optimizer.set_hyperparameter(g, "lr", initial_lrs[g]);
  optimizer.zero_grad();
  model.train(was_training);
  result.suggestions = suggest_learning_rates(result.lrs, result.smoothed_losses);
  return result;
}

}  // namespace descent::tools
