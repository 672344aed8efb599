#pragma once
// The classes behind make_function (private to src/trajectory). Each computes f and, when asked, its
// analytic gradient in one pass; FunctionInfo (minima, bounds, start) is filled in by the registry.
#include <span>
#include <vector>

#include "descent/trajectory/functions.hpp"

namespace descent::trajectory::detail {

#define DESCENT_TEST_FUNCTION(Class)                                                  \
  class Class final : public TestFunction {                                          \
   public:                                                                            \
    explicit Class(FunctionInfo info) : TestFunction(std::move(info)) {}              \
                                                                                      \
   protected:                                                                         \
    double compute(std::span<const double> x, std::span<double> g) const override;    \
  };

DESCENT_TEST_FUNCTION(Rosenbrock)
DESCENT_TEST_FUNCTION(Beale)
DESCENT_TEST_FUNCTION(Booth)
DESCENT_TEST_FUNCTION(Himmelblau)
DESCENT_TEST_FUNCTION(Ackley)
DESCENT_TEST_FUNCTION(StyblinskiTang)
DESCENT_TEST_FUNCTION(GoldsteinPrice)
DESCENT_TEST_FUNCTION(SixHumpCamel)
DESCENT_TEST_FUNCTION(Saddle)
DESCENT_TEST_FUNCTION(MonkeySaddle)
#undef DESCENT_TEST_FUNCTION

class Rastrigin final : public TestFunction {
 public:
  Rastrigin(FunctionInfo info, double a) : TestFunction(std::move(info)), a_(a) {}

 protected:
  double compute(std::span<const double> x, std::span<double> g) const override;

 private:
  double a_;
};

class Quadratic final : public TestFunction {
 public:
  Quadratic(FunctionInfo info, const FunctionOptions& options);

 protected:
  double compute(std::span<const double> x, std::span<double> g) const override;

 private:
  void rotate_transposed(std::span<double> v) const;
  void rotate(std::span<double> v) const;
  double cos_, sin_;
  std::vector<double> eigenvalues_;
  mutable std::vector<double> rotated_;  // scratch: evaluation allocates nothing
};

}  // namespace descent::trajectory::detail
