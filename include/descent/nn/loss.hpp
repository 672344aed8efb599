#pragma once
// Loss functions with torch.nn.functional semantics. `reduction` is "mean", "sum" or "none".
// Input and target shapes must match exactly for the regression losses (a [N] vs [N, 1] mix-up
// broadcasts silently in PyTorch; here it is an error).
#include <optional>
#include <string>

#include "descent/autograd/ops.hpp"

namespace descent::nn {

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean", double delta = 1.0);

// Cross-entropy from logits [N, C] (or [N, C, d1, ...]) and int64 class indices [N] (or [N, d1, ...]).
// label_smoothing in [0, 1] mixes the one-hot target with the uniform distribution; ignore_index
// targets contribute nothing (and are excluded from the mean).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const std::string& reduction = "mean",
                     double label_smoothing = 0.0, std::optional<std::int64_t> ignore_index = std::nullopt);
// Negative log-likelihood from log-probabilities [N, C] and int64 class indices [N].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const std::string& reduction = "mean",
                std::optional<std::int64_t> ignore_index = std::nullopt);
// Binary cross-entropy on logits, numerically stable; pos_weight broadcasts over the last dimension.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const std::string& reduction = "mean", const Tensor& pos_weight = Tensor());

// Loss by name for configs: mse, l1, huber, cross_entropy, nll, bce_with_logits.
Tensor loss_by_name(const std::string& name, const Tensor& input, const Tensor& target);

}  // namespace descent::nn
