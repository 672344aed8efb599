#pragma once
// Sobol' low-discrepancy sequence (I. M. Sobol', USSR Comput. Math. Math. Phys. 7(4), 1967), generated
// in Gray-code order (Antonov & Saleev, 1979) with the direction numbers of S. Joe and F. Y. Kuo,
// "Constructing Sobol sequences with better two-dimensional projections", SIAM J. Sci. Comput. 30
// (2008), file new-joe-kuo-6.21201 (the first sobol_max_dimensions() rows; dimension 1 is the van der
// Corput sequence). 32-bit points: point n is XOR of the direction numbers picked by the bits of
// gray(n) = n ^ (n >> 1), so any point is computed directly from its index.
//
// Optional scrambling is Matoušek's affine matrix scrambling ("On the L2-discrepancy for anchored
// boxes", J. Complexity 14, 1998): each dimension's direction numbers are multiplied by a random
// lower-triangular binary matrix with unit diagonal, and the point is XORed with a random digital
// shift; both drawn from the sampler's seed. Unscrambled, point 0 is the origin (every parameter at
// its low end): the `skip` option starts later in the sequence.
//
// The sampler maps coordinate d of point (trial number + skip) through the d-th parameter of the
// space (in SearchSpace::params() order) with ParamSpec::from_unit; inactive parameters leave their
// coordinate unused, so the dimension count is the number of parameters in the space.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "descent/search/sampler.hpp"

namespace descent::search {

std::size_t sobol_max_dimensions();

class SobolSequence {
 public:
  // Throws when dimensions is 0 or above sobol_max_dimensions().
  explicit SobolSequence(std::size_t dimensions);
  // Applies Matoušek's affine scrambling drawn from `seed`.
  void scramble(std::uint64_t seed);
  // Point `index` in [0, 1)^dimensions.
  std::vector<double> point(std::uint64_t index) const;
  std::size_t dimensions() const { return directions_.size(); }

 private:
  static constexpr int kBits = 32;
  std::vector<std::array<std::uint32_t, kBits>> directions_;
  std::vector<std::uint32_t> shift_;
};

class SobolSampler final : public Sampler {
 public:
  SobolSampler(std::uint64_t seed, std::uint64_t skip, bool scramble)
      : seed_(seed), skip_(skip), scramble_(scramble) {}
  std::string name() const override { return "sobol"; }
  nlohmann::json sample(const SearchSpace& space, const std::vector<TrialRecord>& history,
                        std::int64_t number) override;

 private:
  std::uint64_t seed_;
  std::uint64_t skip_;
  bool scramble_;
};

}  // namespace descent::search
