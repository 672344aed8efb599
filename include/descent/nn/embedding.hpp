#pragma once
// Embedding (torch.nn.Embedding): a lookup table of num_embeddings rows of embedding_dim.
#include <cstdint>
#include <optional>
#include <string>

#include "descent/core/rng.hpp"
#include "descent/nn/module.hpp"

namespace descent::nn {

// Parameter: weight [num_embeddings, embedding_dim] ~ N(0, 1), with the padding_idx row zeroed; that row
// receives no gradient. padding_idx may be negative (counted from the end). forward takes int64 indices of
// any shape and returns indices.shape + [embedding_dim].
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Generator& gen,
            std::optional<std::int64_t> padding_idx = std::nullopt, DType dtype = DType::Float32);
  Tensor forward(const Tensor& indices) override;
  std::string describe() const override;
  Tensor& weight() { return weight_; }
  std::optional<std::int64_t> padding_idx() const { return padding_idx_; }

 private:
  std::int64_t num_embeddings_, embedding_dim_;
  std::optional<std::int64_t> padding_idx_;  // normalised to [0, num_embeddings)
  Tensor weight_;
};

}  // namespace descent::nn
