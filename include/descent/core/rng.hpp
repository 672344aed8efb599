#pragma once
// Explicit, seeded random number generation. Every random draw in descent takes a Generator, so a
// run is a function of its seeds. xoshiro256++ seeded through splitmix64; normals by Box-Muller.
#include <array>
#include <cstdint>

namespace descent {

class Generator {
 public:
  struct State {
    std::array<std::uint64_t, 4> s{};
    bool has_spare_normal = false;
    double spare_normal = 0.0;
  };

  explicit Generator(std::uint64_t seed = 0) { reseed(seed); }
  void reseed(std::uint64_t seed);

  std::uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n);
  double normal();

  // An independent generator derived from this one's seed material and `stream` (does not advance this).
  Generator fork(std::uint64_t stream) const;

  State state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

 private:
  State state_;
};

}  // namespace descent
