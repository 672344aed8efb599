#include "descent/core/rng.hpp"

#include <cmath>
#include <numbers>

namespace descent {

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

void Generator::reseed(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& word : state_.s) word = splitmix64(x);
  state_.has_spare_normal = false;
  state_.spare_normal = 0.0;
}

std::uint64_t Generator::next_u64() {
  auto& s = state_.s;
  const std::uint64_t result = rotl(s[0] + s[3], 23) + s[0];
  const std::uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double Generator::uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

std::uint64_t Generator::below(std::uint64_t n) {
  // Lemire's nearly divisionless method, unbiased.
  std::uint64_t x = next_u64();
  __uint128_t m = __uint128_t(x) * n;
  std::uint64_t low = std::uint64_t(m);
  if (low < n) {
    const std::uint64_t threshold = -n % n;
    while (low < threshold) {
      x = next_u64();
      m = __uint128_t(x) * n;
      low = std::uint64_t(m);
    }
  }
  return std::uint64_t(m >> 64);
}

double Generator::normal() {
  if (state_.has_spare_normal) {
    state_.has_spare_normal = false;
    return state_.spare_normal;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  state_.spare_normal = radius * std::sin(angle);
  state_.has_spare_normal = true;
  return radius * std::cos(angle);
}

Generator Generator::fork(std::uint64_t stream) const {
  std::uint64_t x = state_.s[0] ^ rotl(state_.s[1], 17) ^ (stream * 0xd1342543de82ef95ULL);
  Generator child;
  for (auto& word : child.state_.s) word = splitmix64(x);
  return child;
}

}  // namespace descent
