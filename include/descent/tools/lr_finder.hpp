#pragma once
// The learning-rate range test (Smith 2015, as popularised by fastai): the learning rate grows from
// start_lr to end_lr over a number of iterations, one mini-batch each, while the loss is recorded and
// smoothed; the test stops when the smoothed loss exceeds `divergence_factor` times the best seen. The
// model's parameters and buffers and the optimizer's state are restored afterwards, so the test leaves
// nothing behind.
//
// Suggestions, each a rule over the smoothed curve with the first 10% and the last 5 points dropped (they
// are dominated by start-up and divergence, as in fastai):
//   steepest: the learning rate where the smoothed loss falls fastest per unit of log learning rate,
//             argmin over i of (L[i+1] - L[i]) / (log lr[i+1] - log lr[i]), taking lr[i+1];
//   valley:   fastai's `valley`: the longest run of decreasing loss (longest decreasing subsequence ending
//             at each point); the suggestion sits at 1/3 + 1/6 = half of the way into it;
//   minimum:  the learning rate at the lowest smoothed loss divided by 10.
#include <functional>
#include <string>
#include <vector>

#include "descent/data/loader.hpp"
#include "descent/nn/module.hpp"
#include "descent/optim/optimizer.hpp"

namespace descent::tools {

struct LrFinderOptions {
  double start_lr = 1e-7;
  double end_lr = 10.0;
  std::int64_t iterations = 100;
  std::string mode = "exponential";  // or "linear"
  double smoothing = 0.98;           // EMA coefficient of the loss (with bias correction)
  double divergence_factor = 4.0;    // stop when the smoothed loss exceeds this multiple of the best
};

struct LrSuggestion {
  std::string rule;  // "steepest", "valley" or "minimum"
  double lr = 0.0;
  std::int64_t index = -1;  // index into the curve (-1 when the curve is too short)
};

struct LrFinderResult {
  std::vector<double> lrs;
  std::vector<double> losses;          // raw mini-batch losses
  std::vector<double> smoothed_losses;
  bool diverged = false;               // stopped early on divergence or a non-finite loss
  std::vector<LrSuggestion> suggestions;
  double suggestion(const std::string& rule) const;  // throws when absent
};

// Computes the loss of one batch (forward + loss, with the graph recorded).
using BatchLoss = std::function<Tensor(nn::Module& model, const data::Batch& batch)>;

LrFinderResult lr_find(nn::Module& model, optim::Optimizer& optimizer, const data::DataLoader& loader,
                       const BatchLoss& loss_fn, const LrFinderOptions& options = {});

// The suggestion rules alone, on a recorded curve.
std::vector<LrSuggestion> suggest_learning_rates(const std::vector<double>& lrs,
                                                 const std::vector<double>& smoothed_losses);

}  // namespace descent::tools
