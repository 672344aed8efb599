#include "descent/nn/swa_utils.hpp"

#include <vector>

#include "descent/nn/norm.hpp"

namespace descent::nn {

namespace {

void collect_batch_norms(Module& module, std::vector<BatchNorm*>& out) {
  if (auto* bn = dynamic_cast<BatchNorm*>(&module)) out.push_back(bn);
  for (auto& [name, child] : module.named_children()) collect_batch_norms(*child, out);
}

}  // namespace

void update_bn(Module& model, const std::function<std::optional<Tensor>()>& next_batch) {
  DESCENT_CHECK(next_batch != nullptr, "update_bn: the batch source is empty");
  std::vector<BatchNorm*> norms;
  collect_batch_norms(model, norms);
  if (norms.empty()) return;
  std::vector<std::optional<double>> momenta;
  for (BatchNorm* bn : norms) {
    NoGradGuard no_grad;
    for (auto& [name, buffer] : bn->named_buffers()) {
      if (name == "running_mean" || name == "num_batches_tracked") buffer.fill_(0.0);
      if (name == "running_var") buffer.fill_(1.0);
    }
    momenta.push_back(bn->momentum());
    bn->set_momentum(std::nullopt);
  }
  const bool was_training = model.is_training();
  model.train(true);
  auto restore = [&] {
    for (std::size_t i = 0; i < norms.size(); ++i) norms[i]->set_momentum(momenta[i]);
    model.train(was_training);
  };
  try {
    NoGradGuard no_grad;
    while (std::optional<Tensor> batch = next_batch()) model.forward(*batch);
  } catch (...) {
    restore();
    throw;
  }
  restore();
}

}  // namespace descent::nn
