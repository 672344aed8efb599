#include "descent/search/sobol.hpp"

#include <iterator>

#include "descent/core/error.hpp"
#include "descent/core/rng.hpp"
#include "descent/search/random.hpp"
#include "sobol_directions.hpp"

namespace descent::search {

std::size_t sobol_max_dimensions() { return std::size(detail::kSobolPrimitives); }

SobolSequence::SobolSequence(std::size_t dimensions) {
  DESCENT_CHECK(dimensions >= 1 && dimensions <= sobol_max_dimensions(), "sobol sampler: the space has ",
                dimensions, " parameters, expected 1 to ", sobol_max_dimensions(),
                " (the Joe & Kuo direction numbers built in)");
  directions_.resize(dimensions);
  shift_.assign(dimensions, 0);
  for (std::size_t d = 0; d < dimensions; ++d) {
    auto& v = directions_[d];
    const auto& primitive = detail::kSobolPrimitives[d];
    const int s = primitive.degree;
    if (s == 0) {  // van der Corput: v_k = 2^-k
      for (int k = 0; k < kBits; ++k) v[k] = std::uint32_t(1) << (kBits - 1 - k);
      continue;
    }
    for (int k = 0; k < s; ++k) v[k] = primitive.initial[k] << (kBits - 1 - k);
    // v_k = a_1 v_{k-1} ^ ... ^ a_{s-1} v_{k-s+1} ^ v_{k-s} ^ (v_{k-s} >> s)   (Bratley & Fox 1988)
    for (int k = s; k < kBits; ++k) {
      std::uint32_t value = v[k - s] ^ (v[k - s] >> s);
      for (int i = 1; i < s; ++i) {
        if ((primitive.polynomial >> (s - i)) & 1u) value ^= v[k - i];
      }
      v[k] = value;
    }
  }
}

void SobolSequence::scramble(std::uint64_t seed) {
  Generator generator(seed);
  for (std::size_t d = 0; d < directions_.size(); ++d) {
    // Row r (r = 0 is the most significant output bit) of a lower-triangular matrix with unit
    // diagonal: output bit r is the parity of the input bits r, r-1, ..., 0 it selects.
    std::array<std::uint32_t, kBits> rows{};
    for (int r = 0; r < kBits; ++r) {
      const std::uint32_t diagonal = std::uint32_t(1) << (kBits - 1 - r);
      const std::uint32_t above = r == 0 ? 0u : ~((std::uint32_t(1) << (kBits - r)) - 1u);
      rows[r] = diagonal | (std::uint32_t(generator.next_u64()) & above);
    }
    for (auto& v : directions_[d]) {
      std::uint32_t scrambled = 0;
      for (int r = 0; r < kBits; ++r) {
        scrambled |= std::uint32_t(__builtin_parity(rows[r] & v)) << (kBits - 1 - r);
      }
      v = scrambled;
    }
    shift_[d] = std::uint32_t(generator.next_u64());
  }
}

std::vector<double> SobolSequence::point(std::uint64_t index) const {
  const std::uint64_t gray = index ^ (index >> 1);
  DESCENT_CHECK(gray < (std::uint64_t(1) << kBits), "sobol sampler: point ", index, " is beyond the 2^", kBits,
                " points of the sequence");
  std::vector<double> out(directions_.size());
  for (std::size_t d = 0; d < directions_.size(); ++d) {
    std::uint32_t x = shift_[d];
    for (int k = 0; k < kBits; ++k) {
      if ((gray >> k) & 1u) x ^= directions_[d][k];
    }
    out[d] = double(x) * 0x1.0p-32;
  }
  return out;
}

nlohmann::json SobolSampler::sample(const SearchSpace& space, const std::vector<TrialRecord>&, std::int64_t number) {
  DESCENT_CHECK(number >= 0, "sobol sampler: trial number ", number, ", expected >= 0");
  SobolSequence sequence(space.size());
  if (scramble_) sequence.scramble(seed_);
  const std::vector<double> u = sequence.point(std::uint64_t(number) + skip_);
  nlohmann::json params = nlohmann::json::object();
  for (std::size_t d = 0; d < space.size(); ++d) {
    const ParamSpec& p = space.params()[d];
    if (space.is_active(p.name, params)) params[p.name] = p.from_unit(u[d]);
  }
  return params;
}

}  // namespace descent::search
