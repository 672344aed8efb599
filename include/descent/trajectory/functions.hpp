#pragma once
// Test functions for optimizers: values and analytic gradients in double, the known global minima, and
// default plotting bounds. Dependency-free on purpose (the standard library and the header-only
// descent/core/error.hpp): the browser playground compiles this header and src/trajectory/functions.cpp
// and src/trajectory/function_registry.cpp to WebAssembly as they are.
//
//   name             dims   f(x)                                                   global minima, f*
//   rosenbrock       n>=2   sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2            (1, ..., 1), 0
//   beale            2      (1.5-x+xy)^2 + (2.25-x+xy^2)^2 + (2.625-x+xy^3)^2      (3, 0.5), 0
//   booth            2      (x+2y-7)^2 + (2x+y-5)^2                                (1, 3), 0
//   himmelblau       2      (x^2+y-11)^2 + (x+y^2-7)^2                             4 points, 0
//   rastrigin        n>=1   a n + sum_i x_i^2 - a cos(2 pi x_i)        (a = 10)    origin, 0
//   ackley           n>=1   -20 exp(-0.2 sqrt(mean x_i^2)) - exp(mean cos(2 pi x_i)) + 20 + e   origin, 0
//   styblinski_tang  n>=1   sum_i (x_i^4 - 16 x_i^2 + 5 x_i) / 2              (-2.9035..., ...), -39.166... n
//   goldstein_price  2      [1 + (x+y+1)^2 (19-14x+3x^2-14y+6xy+3y^2)]
//                           [30 + (2x-3y)^2 (18-32x+12x^2+48y-36xy+27y^2)]         (0, -1), 3
//   six_hump_camel   2      (4 - 2.1x^2 + x^4/3) x^2 + xy + (-4 + 4y^2) y^2        2 points, -1.0316...
//   saddle           2      x^2 - y^2                                   no minimum; stationary point (0, 0)
//   monkey_saddle    2      x^3 - 3xy^2                                 no minimum; stationary point (0, 0)
//   quadratic        n>=2   (1/2) (Q^T x)^T diag(lambda) (Q^T x)                   origin, 0
//                           lambda_i = mu * condition^(i/(n-1)) (log-spaced from mu to mu * condition);
//                           Q rotates each coordinate plane (i, i+1), i = 0..n-2, by `angle` radians in
//                           turn (Q = G_0 G_1 ... G_{n-2}); angle 0 gives an axis-aligned quadratic.
//
// Ackley's gradient at the origin (where sqrt is not differentiable) is taken as 0, its subgradient there.
// Minima that are not round numbers were solved to double precision by Newton's method on the gradient.
#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace descent::trajectory {

using Point = std::vector<double>;

// Parameters of the families that have them. Each function accepts only its own (see parse_function).
struct FunctionOptions {
  int dims = 2;                   // rosenbrock, rastrigin, ackley, styblinski_tang, quadratic
  double condition_number = 10;   // quadratic: L / mu, >= 1
  double mu = 1;                  // quadratic: smallest eigenvalue, > 0
  double angle = 0;               // quadratic: rotation of each coordinate plane, radians
  double rastrigin_a = 10;        // rastrigin: amplitude A, >= 0
};

struct FunctionInfo {
  std::string name;
  int dims = 2;
  std::vector<Point> minima;                 // every global minimizer; empty when f is unbounded below
  std::optional<double> minimum_value;       // f at the minima; nullopt when unbounded below
  std::vector<Point> stationary_points;      // for saddles (no minimum): the points "distance" refers to
  std::array<std::array<double, 2>, 2> bounds{};  // plotting box of the first two coordinates
  Point default_start;                       // a start that shows the function's difficulty
};

class TestFunction {
 public:
  virtual ~TestFunction() = default;
  // f(x). When `gradient` is not empty it receives the gradient (its length must be dims()).
  double evaluate(std::span<const double> x, std::span<double> gradient = {}) const;
  double value(std::span<const double> x) const { return evaluate(x); }

  const FunctionInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }
  int dims() const { return info_.dims; }

 protected:
  explicit TestFunction(FunctionInfo info) : info_(std::move(info)) {}
  // `gradient` is either empty or of length dims(); x has length dims().
  virtual double compute(std::span<const double> x, std::span<double> gradient) const = 0;

 private:
  FunctionInfo info_;
};

// The registry. Unknown names and options a function does not take are descent::Errors listing the valid
// ones; out-of-range values name the option, the value and the accepted range.
std::unique_ptr<TestFunction> make_function(const std::string& name, const FunctionOptions& options = {});
// "name" or "name(key=value,...)" with keys dims, condition, mu, angle (quadratic) and a (rastrigin),
// e.g. "rosenbrock(dims=4)", "quadratic(condition=100,angle=0.5)".
std::unique_ptr<TestFunction> parse_function(const std::string& spec);
// Sorted names make_function accepts.
std::vector<std::string> function_names();
// Whether `name` is defined for any number of dimensions (else it is 2-D only).
bool is_n_dimensional(const std::string& name);

// Euclidean distance from x to the nearest of `points` (nullopt when `points` is empty).
std::optional<double> distance_to_nearest(std::span<const double> x, const std::vector<Point>& points);

}  // namespace descent::trajectory
