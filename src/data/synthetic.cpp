#include "descent/data/synthetic.hpp"

#include <cmath>
#include <numbers>
#include <vector>

#include "descent/core/error.hpp"

namespace descent::data {

namespace {
void check_count(const char* name, std::int64_t samples, std::int64_t minimum) {
  DESCENT_CHECK(samples >= minimum, name, ": samples = ", samples, "; expected at least ", minimum);
}

void check_noise(const char* name, double noise) {
  DESCENT_CHECK(noise >= 0 && std::isfinite(noise), name, ": noise = ", noise,
                "; expected a finite value >= 0");
}

double uniform_in(Generator& gen, double low, double high) { return low + (high - low) * gen.uniform(); }

// Two-class points generated in class order, shuffled by one seeded permutation so classes interleave.
TensorDataset shuffled_two_class(Generator& gen, std::vector<float>& points, std::vector<std::int64_t>& labels) {
  const auto n = std::int64_t(labels.size());
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = std::int64_t(gen.below(std::uint64_t(i + 1)));
    std::swap(labels[i], labels[j]);
    std::swap(points[2 * i], points[2 * j]);
    std::swap(points[2 * i + 1], points[2 * j + 1]);
  }
  return TensorDataset(from_vector(points, Shape{n, 2}), from_vector(labels, Shape{n}));
}
}  // namespace

TensorDataset make_linear_regression(Generator& gen, std::int64_t samples, double noise) {
  check_count("make_linear_regression", samples, 1);
  check_noise("make_linear_regression", noise);
  std::vector<float> x(static_cast<std::size_t>(samples)), y(static_cast<std::size_t>(samples));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double xi = uniform_in(gen, -1.0, 1.0);
    x[i] = float(xi);
    y[i] = float(3.0 * xi + 2.0 + noise * gen.normal());
  }
  return TensorDataset(from_vector(x, Shape{samples, 1}), from_vector(y, Shape{samples, 1}));
}

TensorDataset make_quadratic(Generator& gen, std::int64_t samples, std::int64_t dims, double noise) {
  check_count("make_quadratic", samples, 1);
  check_noise("make_quadratic", noise);
  DESCENT_CHECK(dims >= 2, "make_quadratic: dims = ", dims, "; expected at least 2 (y uses x0 and x1)");
  std::vector<float> x(std::size_t(samples * dims)), y(static_cast<std::size_t>(samples));
  for (std::int64_t i = 0; i < samples; ++i) {
    float* row = x.data() + i * dims;
    for (std::int64_t d = 0; d < dims; ++d) row[d] = float(uniform_in(gen, -1.0, 1.0));
    const double x0 = row[0], x1 = row[1];
    y[std::size_t(i)] = float(x0 * x0 + x1 * x1 + noise * gen.normal());
  }
  return TensorDataset(from_vector(x, Shape{samples, dims}), from_vector(y, Shape{samples, 1}));
}

TensorDataset make_two_moons(Generator& gen, std::int64_t samples, double noise) {
  check_count("make_two_moons", samples, 2);
  check_noise("make_two_moons", noise);
  const std::int64_t outer = samples / 2, inner = samples - outer;
  std::vector<float> points;
  std::vector<std::int64_t> labels;
  points.reserve(std::size_t(2 * samples));
  auto add = [&](double px, double py, std::int64_t label) {
    points.push_back(float(px + noise * gen.normal()));
    points.push_back(float(py + noise * gen.normal()));
    labels.push_back(label);
  };
  // np.linspace(0, pi, count): both ends included.
  auto angle = [](std::int64_t i, std::int64_t count) {
    return count == 1 ? 0.0 : std::numbers::pi * double(i) / double(count - 1);
  };
  for (std::int64_t i = 0; i < outer; ++i) add(std::cos(angle(i, outer)), std::sin(angle(i, outer)), 0);
  for (std::int64_t i = 0; i < inner; ++i) add(1.0 - std::cos(angle(i, inner)), 0.5 - std::sin(angle(i, inner)), 1);
  return shuffled_two_class(gen, points, labels);
}

TensorDataset make_two_spirals(Generator& gen, std::int64_t samples, double noise, double turns) {
  check_count("make_two_spirals", samples, 2);
  check_noise("make_two_spirals", noise);
  DESCENT_CHECK(turns > 0 && std::isfinite(turns), "make_two_spirals: turns = ", turns, "; expected > 0");
  const std::int64_t first = samples / 2, second = samples - first;
  std::vector<float> points;
  std::vector<std::int64_t> labels;
  points.reserve(std::size_t(2 * samples));
  for (std::int64_t label = 0; label < 2; ++label) {
    const std::int64_t count = label == 0 ? first : second;
    for (std::int64_t i = 0; i < count; ++i) {
      const double s = double(i + 1) / double(count);  // radius grows from near 0 to 1
      const double theta = turns * 2.0 * std::numbers::pi * s + double(label) * std::numbers::pi;
      points.push_back(float(s * std::cos(theta) + noise * gen.normal()));
      points.push_back(float(s * std::sin(theta) + noise * gen.normal()));
      labels.push_back(label);
    }
  }
  return shuffled_two_class(gen, points, labels);
}

}  // namespace descent::data
