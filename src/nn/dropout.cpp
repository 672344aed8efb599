#include "descent/nn/dropout.hpp"

#include <sstream>

#include "descent/autograd/functional.hpp"

namespace descent::nn {

Dropout::Dropout(double p, std::uint64_t seed) : p_(p), gen_(seed) {
  DESCENT_CHECK(p >= 0.0 && p < 1.0, "Dropout: probability p=", p, " must lie in [0, 1)");
}

Tensor Dropout::forward(const Tensor& input) { return dropout(input, p_, is_training(), gen_); }

std::string Dropout::describe() const {
  std::ostringstream out;
  out << "Dropout(p=" << p_ << ")";
  return out.str();
}

}  // namespace descent::nn
