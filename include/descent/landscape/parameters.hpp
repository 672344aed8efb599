#pragma once
// A model's parameters as one flat float64 vector (the parameters of named_parameters() back to back, in
// that order), and the random directions of loss-landscape plots.
//
// Filter normalisation (Li, Xu, Taylor, Studer, Goldstein 2018, "Visualizing the Loss Landscape of Neural
// Nets", section 4): a Gaussian direction d is rescaled filter by filter, d_f <- d_f * ||theta_f|| / ||d_f||,
// so that a step along d changes every filter by the same fraction of its own size, whatever the scale of
// the weights (which networks with normalisation layers or ReLU may rescale freely). A filter is one slice
// along dimension 0 of a parameter of rank >= 2: a row of a Linear weight [out, in], an output channel
// of a convolution kernel [O, C, kH, kW], a row of a recurrent or embedding matrix. Parameters of rank
// <= 1 (biases, normalisation scales and shifts) get a zero direction: the paper's default "ignore
// biasbn", which keeps the plot about the weights.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/nn/module.hpp"

namespace descent::landscape {

using FlatVector = std::vector<double>;

// The parameters, in named_parameters() order, copied out as float64.
FlatVector get_parameters(const nn::Module& model);
// Writes `values` into the parameters (converting to each one's dtype). Throws when the size differs
// from the model's parameter count.
void set_parameters(nn::Module& model, std::span<const double> values);
// The accumulated gradients in the same layout; a parameter without a gradient contributes zeros.
FlatVector get_gradients(const nn::Module& model);

// A Gaussian direction drawn from `gen`, filter-normalised against the model's current parameters.
FlatVector filter_normalized_direction(const nn::Module& model, Generator& gen);

// The state dict (parameters and buffers) a + alpha (b - a) for floating tensors; other tensors (counters
// such as num_batches_tracked) are taken from b. Both must hold the same names and shapes.
std::map<std::string, Tensor> interpolate_state(const std::map<std::string, Tensor>& a,
                                                const std::map<std::string, Tensor>& b, double alpha);

double dot(std::span<const double> a, std::span<const double> b);
double norm(std::span<const double> a);

}  // namespace descent::landscape
