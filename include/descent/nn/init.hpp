#pragma once
// Initialisers with torch.nn.init semantics. Each fills a tensor in place (outside the graph).
#include <string>

#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

namespace descent::nn::init {

// (fan_in, fan_out) of a weight: [out, in] for linear, [out, in/groups, kh, kw] for conv.
std::pair<std::int64_t, std::int64_t> fans(const Tensor& weight);
// Recommended gain: "linear", "conv2d", "sigmoid" -> 1, "tanh" -> 5/3, "relu" -> sqrt(2),
// "leaky_relu" -> sqrt(2 / (1 + param^2)), "selu" -> 3/4.
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

void zeros_(Tensor& t);
void ones_(Tensor& t);
void constant_(Tensor& t, double value);
void uniform_(Tensor& t, Generator& gen, double low = 0.0, double high = 1.0);
void normal_(Tensor& t, Generator& gen, double mean = 0.0, double std = 1.0);
void xavier_uniform_(Tensor& t, Generator& gen, double gain = 1.0);
void xavier_normal_(Tensor& t, Generator& gen, double gain = 1.0);
// mode: "fan_in" or "fan_out"; nonlinearity as in calculate_gain with `a` as its parameter.
void kaiming_uniform_(Tensor& t, Generator& gen, double a = 0.0, const std::string& mode = "fan_in",
                      const std::string& nonlinearity = "leaky_relu");
void kaiming_normal_(Tensor& t, Generator& gen, double a = 0.0, const std::string& mode = "fan_in",
                     const std::string& nonlinearity = "leaky_relu");
// (Semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix, scaled by gain.
void orthogonal_(Tensor& t, Generator& gen, double gain = 1.0);

}  // namespace descent::nn::init
