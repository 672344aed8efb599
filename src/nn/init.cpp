#include "descent/nn/init.hpp"

#include <cmath>
#include <vector>

namespace descent::nn::init {

namespace {
// Writes values produced by `next()` into every element of t (any floating dtype, any layout).
template <class Next>
void fill(Tensor& t, Next next) {
  NoGradGuard guard;
  std::vector<double> values(std::size_t(t.numel()));
  for (auto& v : values) v = next();
  t.copy_(from_vector(values, t.shape()));
}
}  // namespace

std::pair<std::int64_t, std::int64_t> fans(const Tensor& weight) {
  DESCENT_CHECK(weight.dim() >= 2, "init: fan in and fan out need a tensor with at least 2 dimensions, got shape ",
                weight.shape());
  std::int64_t receptive = 1;
  for (int i = 2; i < weight.dim(); ++i) receptive *= weight.shape()[i];
  return {weight.shape()[1] * receptive, weight.shape()[0] * receptive};
}

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" ||
      nonlinearity == "conv3d" || nonlinearity == "sigmoid")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nonlinearity == "selu") return 0.75;
  throw Error("calculate_gain: unknown nonlinearity '" + nonlinearity +
              "' (expected linear, conv2d, sigmoid, tanh, relu, leaky_relu or selu)");
}

void zeros_(Tensor& t) { constant_(t, 0.0); }
void ones_(Tensor& t) { constant_(t, 1.0); }
void constant_(Tensor& t, double value) {
  NoGradGuard guard;
  t.fill_(value);
}

void uniform_(Tensor& t, Generator& gen, double low, double high) {
  DESCENT_CHECK(low <= high, "uniform_: low ", low, " is greater than high ", high);
  fill(t, [&] { return low + (high - low) * gen.uniform(); });
}

void normal_(Tensor& t, Generator& gen, double mean, double std) {
  DESCENT_CHECK(std >= 0, "normal_: std must be non-negative, got ", std);
  fill(t, [&] { return mean + std * gen.normal(); });
}

void xavier_uniform_(Tensor& t, Generator& gen, double gain) {
  const auto [fan_in, fan_out] = fans(t);
  const double bound = gain * std::sqrt(6.0 / double(fan_in + fan_out));
  uniform_(t, gen, -bound, bound);
}

void xavier_normal_(Tensor& t, Generator& gen, double gain) {
  const auto [fan_in, fan_out] = fans(t);
  normal_(t, gen, 0.0, gain * std::sqrt(2.0 / double(fan_in + fan_out)));
}

namespace {
double kaiming_std(const Tensor& t, double a, const std::string& mode, const std::string& nonlinearity) {
  DESCENT_CHECK(mode == "fan_in" || mode == "fan_out", "kaiming init: mode must be 'fan_in' or 'fan_out', got '",
                mode, "'");
  const auto [fan_in, fan_out] = fans(t);
  const double fan = double(mode == "fan_in" ? fan_in : fan_out);
  DESCENT_CHECK(fan > 0, "kaiming init: zero fan for shape ", t.shape());
  return calculate_gain(nonlinearity, a) / std::sqrt(fan);
}
}  // namespace

void kaiming_uniform_(Tensor& t, Generator& gen, double a, const std::string& mode, const std::string& nonlinearity) {
  const double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity);
  uniform_(t, gen, -bound, bound);
}

void kaiming_normal_(Tensor& t, Generator& gen, double a, const std::string& mode, const std::string& nonlinearity) {
  normal_(t, gen, 0.0, kaiming_std(t, a, mode, nonlinearity));
}

void orthogonal_(Tensor& t, Generator& gen, double gain) {
  DESCENT_CHECK(t.dim() >= 2, "orthogonal_: needs at least 2 dimensions, got shape ", t.shape());
  const std::int64_t rows = t.shape()[0], cols = t.numel() / rows;
  // QR of the taller orientation by modified Gram-Schmidt on columns (float64).
  const bool transpose = rows < cols;
  const std::int64_t m = transpose ? cols : rows, n = transpose ? rows : cols;
  std::vector<double> a(std::size_t(m * n));
  for (auto& v : a) v = gen.normal();
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t k = 0; k < j; ++k) {
      double dot = 0;
      for (std::int64_t i = 0; i < m; ++i) dot += a[std::size_t(i * n + j)] * a[std::size_t(i * n + k)];
      for (std::int64_t i = 0; i < m; ++i) a[std::size_t(i * n + j)] -= dot * a[std::size_t(i * n + k)];
    }
    double norm = 0;
    for (std::int64_t i = 0; i < m; ++i) norm += a[std::size_t(i * n + j)] * a[std::size_t(i * n + j)];
    norm = std::sqrt(norm);
    for (std::int64_t i = 0; i < m; ++i) a[std::size_t(i * n + j)] /= norm;
  }
  std::vector<double> out(std::size_t(rows * cols));
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      out[std::size_t(r * cols + c)] = gain * (transpose ? a[std::size_t(c * n + r)] : a[std::size_t(r * n + c)]);
  NoGradGuard guard;
  t.copy_(from_vector(out, t.shape()));
}

}  // namespace descent::nn::init
