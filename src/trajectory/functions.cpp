// The test functions of include/descent/trajectory/functions.hpp: one small class per function, each
// computing its value and analytic gradient in one pass over x. Standard library only (see the header).
#include "descent/trajectory/functions.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "descent/core/error.hpp"
#include "function_classes.hpp"

namespace descent::trajectory {

double TestFunction::evaluate(std::span<const double> x, std::span<double> gradient) const {
  DESCENT_CHECK(x.size() == static_cast<std::size_t>(info_.dims), info_.name, ": point has ", x.size(),
                " coordinates, expected ", info_.dims);
  DESCENT_CHECK(gradient.empty() || gradient.size() == x.size(), info_.name, ": gradient has ",
                gradient.size(), " elements, expected ", info_.dims);
  return compute(x, gradient);
}

std::optional<double> distance_to_nearest(std::span<const double> x, const std::vector<Point>& points) {
  std::optional<double> nearest;
  for (const auto& point : points) {
    DESCENT_CHECK(point.size() == x.size(), "distance_to_nearest: point of ", point.size(),
                  " coordinates against x of ", x.size());
    double squared = 0;
    for (std::size_t i = 0; i < x.size(); ++i) squared += (x[i] - point[i]) * (x[i] - point[i]);
    const double distance = std::sqrt(squared);
    if (!nearest || distance < *nearest) nearest = distance;
  }
  return nearest;
}

namespace detail {

double Rosenbrock::compute(std::span<const double> x, std::span<double> g) const {
  double f = 0;
  if (!g.empty()) std::fill(g.begin(), g.end(), 0.0);
  for (std::size_t i = 0; i + 1 < x.size(); ++i) {
    const double valley = x[i + 1] - x[i] * x[i];
    const double offset = 1 - x[i];
    f += 100 * valley * valley + offset * offset;
    if (!g.empty()) {
      g[i] += -400 * x[i] * valley - 2 * offset;
      g[i + 1] += 200 * valley;
    }
  }
  return f;
}

double Beale::compute(std::span<const double> p, std::span<double> g) const {
  const double x = p[0], y = p[1];
  const double t1 = 1.5 - x + x * y, t2 = 2.25 - x + x * y * y, t3 = 2.625 - x + x * y * y * y;
  if (!g.empty()) {
    g[0] = 2 * t1 * (y - 1) + 2 * t2 * (y * y - 1) + 2 * t3 * (y * y * y - 1);
    g[1] = 2 * t1 * x + 2 * t2 * 2 * x * y + 2 * t3 * 3 * x * y * y;
  }
  return t1 * t1 + t2 * t2 + t3 * t3;
}

double Booth::compute(std::span<const double> p, std::span<double> g) const {
  const double a = p[0] + 2 * p[1] - 7, b = 2 * p[0] + p[1] - 5;
  if (!g.empty()) {
    g[0] = 2 * a + 4 * b;
    g[1] = 4 * a + 2 * b;
  }
  return a * a + b * b;
}

double Himmelblau::compute(std::span<const double> p, std::span<double> g) const {
  const double x = p[0], y = p[1];
  const double a = x * x + y - 11, b = x + y * y - 7;
  if (!g.empty()) {
    g[0] = 4 * x * a + 2 * b;
    g[1] = 2 * a + 4 * y * b;
  }
  return a * a + b * b;
}

double Rastrigin::compute(std::span<const double> x, std::span<double> g) const {
  constexpr double two_pi = 2 * std::numbers::pi;
  double f = a_ * static_cast<double>(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    f += x[i] * x[i] - a_ * std::cos(two_pi * x[i]);
    if (!g.empty()) g[i] = 2 * x[i] + a_ * two_pi * std::sin(two_pi * x[i]);
  }
  return f;
}

double Ackley::compute(std::span<const double> x, std::span<double> g) const {
  constexpr double a = 20, b = 0.2, c = 2 * std::numbers::pi;
  const double n = static_cast<double>(x.size());
  double squares = 0, cosines = 0;
  for (const double xi : x) {
    squares += xi * xi;
    cosines += std::cos(c * xi);
  }
  const double radius = std::sqrt(squares / n);
  const double envelope = std::exp(-b * radius), ripple = std::exp(cosines / n);
  if (!g.empty()) {
    // d radius / d x_i = x_i / (n radius); taken as 0 at the origin (the subgradient there).
    const double radial = radius > 0 ? a * b * envelope / (n * radius) : 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) g[i] = radial * x[i] + ripple * c * std::sin(c * x[i]) / n;
  }
  return -a * envelope - ripple + a + std::numbers::e;
}

double StyblinskiTang::compute(std::span<const double> x, std::span<double> g) const {
  double f = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i], squared = v * v;
    f += squared * squared - 16 * squared + 5 * v;
    if (!g.empty()) g[i] = 0.5 * (4 * squared * v - 32 * v + 5);
  }
  return 0.5 * f;
}

double GoldsteinPrice::compute(std::span<const double> p, std::span<double> g) const {
  const double x = p[0], y = p[1];
  const double a = x + y + 1;
  const double a_poly = 19 - 14 * x + 3 * x * x - 14 * y + 6 * x * y + 3 * y * y;
  const double first = 1 + a * a * a_poly;
  const double b = 2 * x - 3 * y;
  const double b_poly = 18 - 32 * x + 12 * x * x + 48 * y - 36 * x * y + 27 * y * y;
  const double second = 30 + b * b * b_poly;
  if (!g.empty()) {
    // d a_poly/dx = d a_poly/dy = -14 + 6x + 6y, and da/dx = da/dy = 1.
    const double d_first = 2 * a * a_poly + a * a * (-14 + 6 * x + 6 * y);
    const double d_second_dx = 4 * b * b_poly + b * b * (-32 + 24 * x - 36 * y);
    const double d_second_dy = -6 * b * b_poly + b * b * (48 - 36 * x + 54 * y);
    g[0] = d_first * second + first * d_second_dx;
    g[1] = d_first * second + first * d_second_dy;
  }
  return first * second;
}

double SixHumpCamel::compute(std::span<const double> p, std::span<double> g) const {
  const double x = p[0], y = p[1], x2 = x * x, y2 = y * y;
  if (!g.empty()) {
    g[0] = 8 * x - 8.4 * x2 * x + 2 * x2 * x2 * x + y;
    g[1] = x - 8 * y + 16 * y2 * y;
  }
  return (4 - 2.1 * x2 + x2 * x2 / 3) * x2 + x * y + (-4 + 4 * y2) * y2;
}

double Saddle::compute(std::span<const double> p, std::span<double> g) const {
  if (!g.empty()) {
    g[0] = 2 * p[0];
    g[1] = -2 * p[1];
  }
  return p[0] * p[0] - p[1] * p[1];
}

double MonkeySaddle::compute(std::span<const double> p, std::span<double> g) const {
  const double x = p[0], y = p[1];
  if (!g.empty()) {
    g[0] = 3 * x * x - 3 * y * y;
    g[1] = -6 * x * y;
  }
  return x * x * x - 3 * x * y * y;
}

Quadratic::Quadratic(FunctionInfo info, const FunctionOptions& options)
    : TestFunction(std::move(info)),
      cos_(std::cos(options.angle)),
      sin_(std::sin(options.angle)),
      eigenvalues_(static_cast<std::size_t>(options.dims)),
      rotated_(static_cast<std::size_t>(options.dims)) {
  const double last = static_cast<double>(options.dims - 1);
  for (std::size_t i = 0; i < eigenvalues_.size(); ++i)
    eigenvalues_[i] = options.mu * std::pow(options.condition_number, static_cast<double>(i) / last);
}

// y = Q^T x with Q = G_0 ... G_{n-2}: apply G_0^T first. Each G_i rotates plane (i, i+1) by the angle.
void Quadratic::rotate_transposed(std::span<double> v) const {
  for (std::size_t i = 0; i + 1 < v.size(); ++i) {
    const double a = v[i], b = v[i + 1];
    v[i] = cos_ * a + sin_ * b;
    v[i + 1] = -sin_ * a + cos_ * b;
  }
}

// v <- Q v: apply G_{n-2} first.
void Quadratic::rotate(std::span<double> v) const {
  for (std::size_t i = v.size() - 1; i-- > 0;) {
    const double a = v[i], b = v[i + 1];
    v[i] = cos_ * a - sin_ * b;
    v[i + 1] = sin_ * a + cos_ * b;
  }
}

double Quadratic::compute(std::span<const double> x, std::span<double> g) const {
  // The scratch vector makes evaluation non-reentrant across threads; each run owns its function.
  std::copy(x.begin(), x.end(), rotated_.begin());
  rotate_transposed(rotated_);
  double f = 0;
  for (std::size_t i = 0; i < rotated_.size(); ++i) {
    f += 0.5 * eigenvalues_[i] * rotated_[i] * rotated_[i];
    rotated_[i] *= eigenvalues_[i];
  }
  if (!g.empty()) {
    rotate(rotated_);
    std::copy(rotated_.begin(), rotated_.end(), g.begin());
  }
  return f;
}

}  // namespace detail
}  // namespace descent::trajectory
