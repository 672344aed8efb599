#include "descent/nn/embedding.hpp"

#include "descent/autograd/functional.hpp"
#include "descent/nn/init.hpp"

namespace descent::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Generator& gen,
                     std::optional<std::int64_t> padding_idx, DType dtype)
    : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  DESCENT_CHECK(num_embeddings > 0 && embedding_dim > 0, "Embedding: num_embeddings and embedding_dim must be "
                "positive, got ", num_embeddings, " and ", embedding_dim);
  DESCENT_CHECK(is_floating(dtype), "Embedding: dtype must be float32 or float64, got ", dtype_name(dtype));
  if (padding_idx) {
    DESCENT_CHECK(*padding_idx >= -num_embeddings && *padding_idx < num_embeddings, "Embedding: padding_idx=",
                  *padding_idx, " out of range for num_embeddings=", num_embeddings, " (expected [", -num_embeddings,
                  ", ", num_embeddings, "))");
    padding_idx_ = *padding_idx < 0 ? *padding_idx + num_embeddings : *padding_idx;
  }
  Tensor w = empty(Shape{num_embeddings, embedding_dim}, dtype);
  init::normal_(w, gen, 0.0, 1.0);
  if (padding_idx_) {
    Tensor row = as_strided(w, Shape{embedding_dim}, Shape{1}, *padding_idx_ * embedding_dim);
    row.zero_();
  }
  weight_ = register_parameter("weight", w);
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(indices, weight_, padding_idx_); }

std::string Embedding::describe() const {
  std::string text = "Embedding(num_embeddings=" + std::to_string(num_embeddings_) +
                     ", embedding_dim=" + std::to_string(embedding_dim_);
  if (padding_idx_) text += ", padding_idx=" + std::to_string(*padding_idx_);
  return text + ")";
}

}  // namespace descent::nn
