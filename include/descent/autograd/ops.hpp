#pragma once
// Differentiable operations. Each records a backward node when grad mode is on and an input requires
// grad; otherwise it only computes. Shapes broadcast with NumPy rules where noted. Errors name the
// operation and the shapes involved.
#include <cstdint>
#include <optional>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

namespace descent {

// ---- elementwise, broadcasting
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor pow(const Tensor& a, double exponent);
Tensor pow(const Tensor& a, const Tensor& exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

// ---- elementwise, unary
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor clamp(const Tensor& a, std::optional<double> min, std::optional<double> max);
Tensor relu(const Tensor& a);
Tensor leaky_relu(const Tensor& a, double negative_slope = 0.01);
// approximate: "none" (erf) or "tanh", as torch.nn.functional.gelu.
Tensor gelu(const Tensor& a, const std::string& approximate = "none");
Tensor silu(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);

// ---- in-place (no autograd recording; refuse leaves that require grad while grad mode is on)
Tensor& add_(Tensor& a, const Tensor& b, double alpha = 1.0);  // a += alpha * b (b broadcasts to a)
Tensor& mul_(Tensor& a, double factor);

// ---- reductions. `dims` empty means all dimensions.
Tensor sum(const Tensor& a);
Tensor sum(const Tensor& a, const std::vector<std::int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, const std::vector<std::int64_t>& dims, bool keepdim = false);
// Maximum / minimum over all elements (gradient shared equally among ties) or along one dim.
Tensor max(const Tensor& a);
Tensor max(const Tensor& a, std::int64_t dim, bool keepdim = false);
Tensor min(const Tensor& a);
Tensor min(const Tensor& a, std::int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& a, std::int64_t dim, bool keepdim = false);  // int64, no gradient
Tensor argmin(const Tensor& a, std::int64_t dim, bool keepdim = false);
// Variance along dims with Bessel's correction (`correction` = 1) like torch.var.
Tensor var(const Tensor& a, const std::vector<std::int64_t>& dims, std::int64_t correction = 1,
           bool keepdim = false);
Tensor softmax(const Tensor& a, std::int64_t dim);
Tensor log_softmax(const Tensor& a, std::int64_t dim);
// Sums `grad` over broadcast dimensions down to `shape` (the adjoint of broadcasting).
Tensor sum_to(const Tensor& grad, const Shape& shape);

// ---- linear algebra (BLAS)
// 1-D/2-D/batched with broadcasting of batch dimensions, as torch.matmul.
Tensor matmul(const Tensor& a, const Tensor& b);
// x @ weight^T + bias, x of shape [..., in], weight [out, in], bias [out] (optional).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- views and shape operations (views share storage; their gradients flow back to the base)
Tensor reshape(const Tensor& a, const Shape& shape);  // one extent may be -1; copies if not viewable
Tensor view(const Tensor& a, const Shape& shape);     // throws when the strides do not allow a view
Tensor flatten(const Tensor& a, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1);
Tensor permute(const Tensor& a, const std::vector<std::int64_t>& dims);
Tensor slice(const Tensor& a, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor narrow(const Tensor& a, std::int64_t dim, std::int64_t start, std::int64_t length);
Tensor select(const Tensor& a, std::int64_t dim, std::int64_t index);
Tensor squeeze(const Tensor& a, std::int64_t dim);
Tensor squeeze(const Tensor& a);
Tensor unsqueeze(const Tensor& a, std::int64_t dim);
Tensor expand(const Tensor& a, const Shape& shape);  // -1 keeps an extent
Tensor contiguous(const Tensor& a);
Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim);
Tensor index_select(const Tensor& a, std::int64_t dim, const Tensor& index);
std::vector<Tensor> chunk(const Tensor& a, std::int64_t chunks, std::int64_t dim);

// ---- operators
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return add(a, -b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return mul(a, 1.0 / b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }

}  // namespace descent
