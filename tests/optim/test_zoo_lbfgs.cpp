// L-BFGS: convergence with and without the strong-Wolfe line search, evaluation budget, state round trip
// and the errors PyTorch raises.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "descent/optim/lbfgs.hpp"

namespace descent::optim {
namespace {

using ::testing::HasSubstr;

// Rosenbrock in 2-D (minimum 0 at (1, 1)); writes the gradient into p.grad().
double rosenbrock(const Tensor& p) {
  const auto x = p.to_vector<double>();
  double* g = p.grad().data<double>();
  g[0] = -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] * x[0]);
  g[1] = 200 * (x[1] - x[0] * x[0]);
  return (1 - x[0]) * (1 - x[0]) + 100 * (x[1] - x[0] * x[0]) * (x[1] - x[0] * x[0]);
}

// 0.5 * sum(c_i x_i^2) with condition number 100.
double quadratic(const Tensor& p) {
  const auto x = p.to_vector<double>();
  const double c[] = {1.0, 10.0, 100.0};
  double* g = p.grad().data<double>();
  double loss = 0;
  for (int i = 0; i < 3; ++i) g[i] = c[i] * x[i], loss += 0.5 * c[i] * x[i] * x[i];
  return loss;
}

Tensor parameter(std::vector<double> values) {
  Tensor p = from_vector(values, Shape{std::int64_t(values.size())});
  p.set_grad(zeros(p.shape(), DType::Float64));
  return p;
}

TEST(LBFGS, StrongWolfeSolvesRosenbrock) {
  Tensor p = parameter({-1.5, 2.0});
  auto lbfgs = make_optimizer("lbfgs", {p}, {{"line_search_fn", "strong_wolfe"}});
  const double first = lbfgs->step([&] { return rosenbrock(p); });
  EXPECT_DOUBLE_EQ(first, 6.25 + 100 * 0.25 * 0.25);  // returns the loss before the step
  for (int i = 0; i < 9; ++i) lbfgs->step([&] { return rosenbrock(p); });
  const auto x = p.to_vector<double>();
  EXPECT_NEAR(x[0], 1.0, 1e-5);
  EXPECT_NEAR(x[1], 1.0, 1e-5);
}

TEST(LBFGS, WithoutLineSearchSolvesAQuadraticWithinTheEvaluationBudget) {
  Tensor p = parameter({1.0, 1.0, 1.0});
  auto lbfgs = make_optimizer("lbfgs", {p}, {{"max_iter", 40}, {"line_search_fn", nullptr}});
  EXPECT_EQ(lbfgs->param_groups()[0].number("max_eval"), 50);  // PyTorch: max_iter * 5 / 4
  int calls = 0;
  lbfgs->step([&] { return ++calls, quadratic(p); });
  EXPECT_LE(calls, 50);
  for (double v : p.to_vector<double>()) EXPECT_NEAR(v, 0.0, 1e-4);
}

TEST(LBFGS, MaxEvalBoundsClosureCalls) {
  Tensor p = parameter({-1.5, 2.0});
  auto lbfgs = make_optimizer("lbfgs", {p}, {{"max_iter", 100}, {"max_eval", 7}, {"lr", 0.01}});
  int calls = 0;
  lbfgs->step([&] { return ++calls, rosenbrock(p); });
  EXPECT_EQ(calls, 7);
}

TEST(LBFGS, StateRoundTripContinuesIdentically) {
  for (const char* search : {"none", "strong_wolfe"}) {
    Tensor a = parameter({-1.2, 1.0}), b = parameter({0.0, 0.0});
    const nlohmann::json options = {{"max_iter", 3}, {"history_size", 2}, {"lr", 0.5}, {"line_search_fn", search}};
    auto first = make_optimizer("lbfgs", {a}, options);
    auto second = make_optimizer("lbfgs", {b}, options);
    for (int i = 0; i < 3; ++i) first->step([&] { return rosenbrock(a); });
    b.copy_(a);
    second->load_state_dict(first->state_dict());
    EXPECT_EQ(second->state_bytes(), first->state_bytes());
    for (int i = 0; i < 3; ++i) {
      first->step([&] { return rosenbrock(a); });
      second->step([&] { return rosenbrock(b); });
    }
    EXPECT_EQ(a.to_vector<double>(), b.to_vector<double>()) << search;
  }
}

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LBFGS, ErrorsForNoClosureTwoGroupsAndBadOptions) {
  Tensor p = parameter({1.0}), q = parameter({2.0});
  auto lbfgs = make_optimizer("lbfgs", {p}, {});
  EXPECT_THAT(error_of([&] { lbfgs->step(); }), HasSubstr("lbfgs: step() needs a closure"));
  lbfgs->add_param_group({q}, {});
  EXPECT_THAT(error_of([&] { lbfgs->step([] { return 0.0; }); }),
              HasSubstr("supports exactly one parameter group (PyTorch's rule); this optimizer has 2"));
  EXPECT_THAT(error_of([&] { make_optimizer("lbfgs", {parameter({1.0})}, {{"line_search_fn", "armijo"}}); }),
              HasSubstr("line_search_fn = \"armijo\" is not valid; expected \"none\" (or null) or \"strong_wolfe\""));
  EXPECT_THAT(error_of([&] { make_optimizer("lbfgs", {parameter({1.0})}, {{"history_size", 0}}); }),
              HasSubstr("history_size = 0: expected a whole number >= 1"));
  EXPECT_THAT(error_of([&] { make_optimizer("lbfgs", {parameter({1.0})}, {{"tolerance_grad", -1}}); }),
              HasSubstr("tolerance_grad = -1"));
}

}  // namespace
}  // namespace descent::optim
