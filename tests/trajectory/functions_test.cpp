// The test functions: every analytic gradient against central finite differences at random points (2-D
// and n-D), every listed minimum has a vanishing gradient and the stated value, and bad names and options
// are Errors naming them.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "descent/core/error.hpp"
#include "descent/trajectory/functions.hpp"

namespace {

using namespace descent::trajectory;

std::vector<std::string> specs_to_check() {
  std::vector<std::string> specs = function_names();
  for (const char* extra : {"rosenbrock(dims=5)", "rastrigin(dims=3,a=7)", "ackley(dims=4)", "styblinski_tang(dims=3)",
                            "quadratic(dims=6,condition=50,angle=0.7,mu=0.5)", "quadratic(condition=1000,angle=0.3)"})
    specs.emplace_back(extra);
  return specs;
}

std::string error_of(const std::string& spec) {
  try {
    parse_function(spec);
  } catch (const descent::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no descent::Error for " << spec;
  return "";
}

TEST(TestFunctions, GradientsMatchCentralDifferences) {
  std::mt19937_64 rng(7);
  for (const auto& spec : specs_to_check()) {
    const auto function = parse_function(spec);
    const auto& box = function->info().bounds;
    for (int trial = 0; trial < 25; ++trial) {
      Point x(static_cast<std::size_t>(function->dims()));
      for (std::size_t i = 0; i < x.size(); ++i) {
        const auto& range = box[std::min<std::size_t>(i, 1)];
        x[i] = std::uniform_real_distribution<double>(range[0], range[1])(rng);
      }
      Point gradient(x.size());
      const double value = function->evaluate(x, gradient);
      EXPECT_DOUBLE_EQ(value, function->value(x)) << spec;
      for (std::size_t i = 0; i < x.size(); ++i) {
        const double h = 1e-6 * std::max(1.0, std::abs(x[i]));
        Point plus = x, minus = x;
        plus[i] += h;
        minus[i] -= h;
        const double numeric = (function->value(plus) - function->value(minus)) / (2 * h);
        // Relative to the function's scale around x: Goldstein-Price reaches 1e6 in its box.
        const double scale = 1 + std::abs(gradient[i]) + 1e-7 * std::abs(value) / h;
        EXPECT_NEAR(gradient[i], numeric, 1e-5 * scale) << spec << " coordinate " << i << " trial " << trial;
      }
    }
  }
}

TEST(TestFunctions, ListedMinimaAreStationaryWithTheStatedValue) {
  for (const auto& spec : specs_to_check()) {
    const auto function = parse_function(spec);
    const auto& info = function->info();
    if (!info.minimum_value) {
      EXPECT_TRUE(info.minima.empty()) << spec;
      ASSERT_FALSE(info.stationary_points.empty()) << spec;
    }
    for (const auto& point : info.minima.empty() ? info.stationary_points : info.minima) {
      Point gradient(point.size());
      const double value = function->evaluate(point, gradient);
      if (info.minimum_value) {
        EXPECT_NEAR(value, *info.minimum_value, 1e-12 * (1 + std::abs(value))) << spec;
      }
      for (const double g : gradient) EXPECT_NEAR(g, 0.0, 1e-9) << spec;
      // A minimum: every nearby point is at least as high (checked along each axis and diagonally).
      if (!info.minimum_value) continue;
      for (std::size_t i = 0; i < point.size(); ++i)
        for (const double step : {-1e-3, 1e-3}) {
          Point near = point;
          near[i] += step;
          if (i + 1 < point.size()) near[i + 1] -= step;
          EXPECT_GT(function->value(near), value) << spec;
        }
    }
  }
}

TEST(TestFunctions, KnownCounts) {
  EXPECT_EQ(parse_function("himmelblau")->info().minima.size(), 4u);
  EXPECT_EQ(parse_function("six_hump_camel")->info().minima.size(), 2u);
  EXPECT_NEAR(parse_function("goldstein_price")->info().minimum_value.value(), 3.0, 0);
  EXPECT_NEAR(parse_function("styblinski_tang(dims=3)")->info().minimum_value.value(), -39.16616570377141 * 3, 1e-9);
  EXPECT_FALSE(parse_function("monkey_saddle")->info().minimum_value.has_value());
  EXPECT_EQ(function_names().size(), 12u);
  EXPECT_TRUE(is_n_dimensional("ackley"));
  EXPECT_FALSE(is_n_dimensional("beale"));
}

TEST(TestFunctions, QuadraticHasTheRequestedCurvatures) {
  // Along the rotated axes Q e_0 and Q e_1 the second derivatives are mu and mu * condition.
  const double angle = 0.4, mu = 0.5, condition = 40;
  const auto function = make_function("quadratic", {.dims = 2, .condition_number = condition, .mu = mu, .angle = angle});
  const Point soft{std::cos(angle), std::sin(angle)}, stiff{-std::sin(angle), std::cos(angle)};
  EXPECT_NEAR(function->value(soft), 0.5 * mu, 1e-12);
  EXPECT_NEAR(function->value(stiff), 0.5 * mu * condition, 1e-12);
  const auto wide = make_function("quadratic", {.dims = 5, .condition_number = 16});
  EXPECT_NEAR(wide->value(Point{0, 0, 1, 0, 0}), 0.5 * 4, 1e-12);  // 16^(2/4)
}

TEST(TestFunctions, DistanceToNearest) {
  const auto function = parse_function("himmelblau");
  EXPECT_NEAR(distance_to_nearest(Point{3, 2.5}, function->info().minima).value(), 0.5, 1e-12);
  EXPECT_FALSE(distance_to_nearest(Point{0, 0}, {}).has_value());
}

TEST(TestFunctions, BadInputIsAnErrorNamingIt) {
  EXPECT_NE(error_of("rosenbrok").find("one of ackley, beale"), std::string::npos);
  EXPECT_NE(error_of("beale(dims=3)").find("option 'dims' is unknown for beale: expected no options"),
            std::string::npos);
  EXPECT_NE(error_of("quadratic(condition=0.5)").find("condition 0.5 is invalid: expected a number >= 1"),
            std::string::npos);
  EXPECT_NE(error_of("quadratic(kappa=3)").find("expected one of dims, condition, mu, angle"), std::string::npos);
  EXPECT_NE(error_of("rosenbrock(dims=1)").find("dims 1 is invalid: expected an integer >= 2"), std::string::npos);
  EXPECT_NE(error_of("rastrigin(a=x)").find("a='x' is invalid: expected a number"), std::string::npos);
  EXPECT_NE(error_of("rastrigin(dims 3)").find("expected key=value"), std::string::npos);
  EXPECT_THROW(make_function("beale")->value(Point{1, 2, 3}), descent::Error);
}

}  // namespace
