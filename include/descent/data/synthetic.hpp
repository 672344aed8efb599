#pragma once
// Synthetic datasets for tests and optimizer studies. Each is a pure function of the generator's state.
#include <cstdint>

#include "descent/core/rng.hpp"
#include "descent/data/dataset.hpp"

namespace descent::data {

// y = 3x + 2 + noise·ε, x ~ U[-1, 1], ε ~ N(0, 1). Inputs [N, 1], targets [N, 1].
TensorDataset make_linear_regression(Generator& gen, std::int64_t samples = 1000, double noise = 0.1);

// y = x0² + x1² + noise·ε with x ~ U[-1, 1]^dims (the other dims - 2 features are distractors).
// Inputs [N, dims], targets [N, 1].
TensorDataset make_quadratic(Generator& gen, std::int64_t samples = 10000, std::int64_t dims = 20,
                             double noise = 0.1);

// scikit-learn's make_moons: two interleaving half circles, class 0 the upper one (cos t, sin t), class 1
// the lower (1 - cos t, 0.5 - sin t), t evenly spaced in [0, π], plus N(0, noise²) on each coordinate,
// shuffled. Inputs [N, 2], int64 labels [N] (class 1 gets the extra sample when N is odd, as in scikit-learn).
TensorDataset make_two_moons(Generator& gen, std::int64_t samples = 1000, double noise = 0.1);

// Two interleaved Archimedean spirals: for class k, angle θ = turns·2π·s for s evenly spaced in (0, 1], point
// s·(cos(θ + kπ), sin(θ + kπ)) plus N(0, noise²) on each coordinate, shuffled. Inputs [N, 2], int64 labels [N].
TensorDataset make_two_spirals(Generator& gen, std::int64_t samples = 1000, double noise = 0.02,
                               double turns = 1.5);

}  // namespace descent::data
