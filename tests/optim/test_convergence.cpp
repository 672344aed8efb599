// One table drives the convergence suite: every optimizer row runs on the same three problems with
// analytic gradients (no autograd): an ill-conditioned quadratic, the Rosenbrock function and logistic
// regression. Tolerances, each a documented criterion:
//   quadratic  f(x) = 1/2 Σ c_i x_i^2, c_i log-spaced in [1, 100] (condition number 100), x0 = 1:
//              f after the run <= 1e-3 * f(x0)
//   rosenbrock f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1): |(x, y) - (1, 1)| <= 0.05
//   logistic   mean log(1 + exp(-y w.x)) on 200 fixed points in 5-D (labels from a hidden w, 10% flipped):
//              loss - optimum <= 1e-3, the optimum found by Newton's method in the test
// A row gives each problem the options (mostly lr) that suit the algorithm; a new optimizer gets its
// tests by adding one row.
#include <array>

#include "helpers.hpp"

namespace descent::optim::testing {
namespace {

struct Problem {
  const char* name;
  std::vector<double> start;
  std::function<double(const std::vector<double>&, std::vector<double>&)> loss_and_grad;
  std::function<bool(const std::vector<double>&, double loss, std::string& why)> solved;
  int steps;
};

Problem quadratic() {
  std::vector<double> c(10);
  for (int i = 0; i < 10; ++i) c[i] = std::pow(100.0, i / 9.0);
  auto f = [c](const std::vector<double>& x, std::vector<double>& g) {
    double loss = 0;
    for (std::size_t i = 0; i < x.size(); ++i) loss += 0.5 * c[i] * x[i] * x[i], g[i] = c[i] * x[i];
    return loss;
  };
  std::vector<double> start(10, 1.0), scratch(10);
  const double f0 = f(start, scratch);
  return {"quadratic", start, f,
          [f0](const std::vector<double>&, double loss, std::string& why) {
            why = "f = " + std::to_string(loss) + ", need <= " + std::to_string(1e-3 * f0);
            return loss <= 1e-3 * f0;
          },
          3000};
}

Problem rosenbrock() {
  auto f = [](const std::vector<double>& v, std::vector<double>& g) {
    const double x = v[0], y = v[1];
    g[0] = -2 * (1 - x) - 400 * x * (y - x * x);
    g[1] = 200 * (y - x * x);
    return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
  };
  return {"rosenbrock", {-1.2, 1.0}, f,
          [](const std::vector<double>& v, double, std::string& why) {
            const double distance = std::hypot(v[0] - 1, v[1] - 1);
            why = "distance to (1, 1) = " + std::to_string(distance) + ", need <= 0.05";
            return distance <= 0.05;
          },
          20000};
}

struct LogisticData {
  std::vector<std::array<double, 5>> x;
  std::vector<double> y;
};

const LogisticData& logistic_data() {
  static const LogisticData data = [] {
    LogisticData d;
    Generator gen(42);
    const std::array<double, 5> hidden = {1.5, -2.0, 0.5, 1.0, -0.5};
    for (int i = 0; i < 200; ++i) {
      std::array<double, 5> x{};
      double z = 0;
      for (int k = 0; k < 5; ++k) x[k] = 2 * gen.uniform() - 1, z += hidden[k] * x[k];
      double label = z > 0 ? 1 : -1;
      if (gen.uniform() < 0.1) label = -label;
      d.x.push_back(x);
      d.y.push_back(label);
    }
    return d;
  }();
  return data;
}

double logistic_loss(const std::vector<double>& w, std::vector<double>& g) {
  const auto& d = logistic_data();
  double loss = 0;
  std::fill(g.begin(), g.end(), 0.0);
  for (std::size_t i = 0; i < d.y.size(); ++i) {
    double z = 0;
    for (int k = 0; k < 5; ++k) z += w[k] * d.x[i][k];
    const double margin = d.y[i] * z;
    loss += std::log1p(std::exp(-margin));
    const double coefficient = -d.y[i] / (1 + std::exp(margin));
    for (int k = 0; k < 5; ++k) g[k] += coefficient * d.x[i][k];
  }
  for (auto& v : g) v /= double(d.y.size());
  return loss / double(d.y.size());
}

// The optimum by Newton's method (the loss is strictly convex on this data).
double logistic_optimum() {
  const auto& d = logistic_data();
  std::vector<double> w(5, 0.0), g(5);
  for (int iteration = 0; iteration < 50; ++iteration) {
    logistic_loss(w, g);
    double h[5][6] = {};
    for (std::size_t i = 0; i < d.y.size(); ++i) {
      double z = 0;
      for (int k = 0; k < 5; ++k) z += w[k] * d.x[i][k];
      const double p = 1 / (1 + std::exp(-z)), weight = p * (1 - p) / double(d.y.size());
      for (int a = 0; a < 5; ++a)
        for (int b = 0; b < 5; ++b) h[a][b] += weight * d.x[i][a] * d.x[i][b];
    }
    for (int a = 0; a < 5; ++a) h[a][5] = g[a];
    for (int col = 0; col < 5; ++col)  // Gauss-Jordan on the positive-definite Hessian
      for (int row = 0; row < 5; ++row) {
        if (row == col) continue;
        const double factor = h[row][col] / h[col][col];
        for (int k = col; k < 6; ++k) h[row][k] -= factor * h[col][k];
      }
    for (int a = 0; a < 5; ++a) w[a] -= h[a][5] / h[a][a];
  }
  return logistic_loss(w, g);
}

Problem logistic() {
  const double optimum = logistic_optimum();
  return {"logistic", std::vector<double>(5, 0.0), logistic_loss,
          [optimum](const std::vector<double>&, double loss, std::string& why) {
            why = "loss - optimum = " + std::to_string(loss - optimum) + ", need <= 1e-3";
            return loss - optimum <= 1e-3;
          },
          3000};
}

struct Row {
  std::string label, name;
  nlohmann::json quadratic, rosenbrock, logistic;
};

// One row per optimizer configuration: options for each problem.
std::vector<Row> rows() {
  return {
      {"sgd", "sgd", {{"lr", 0.015}}, {{"lr", 1e-3}}, {{"lr", 2.0}}},
      {"sgd_momentum", "sgd", {{"lr", 0.01}, {"momentum", 0.9}}, {{"lr", 2e-4}, {"momentum", 0.9}}, {{"lr", 1.0}, {"momentum", 0.9}}},
      {"sgd_nesterov", "sgd", {{"lr", 0.01}, {"momentum", 0.9}, {"nesterov", true}}, {{"lr", 2e-4}, {"momentum", 0.9}, {"nesterov", true}}, {{"lr", 1.0}, {"momentum", 0.9}, {"nesterov", true}}},
      {"adam", "adam", {{"lr", 0.01}}, {{"lr", 0.01}}, {{"lr", 0.05}}},
      {"adam_amsgrad", "adam", {{"lr", 0.01}, {"amsgrad", true}}, {{"lr", 0.01}, {"amsgrad", true}}, {{"lr", 0.05}, {"amsgrad", true}}},
      {"adamw", "adamw", {{"lr", 0.01}, {"weight_decay", 0.0}}, {{"lr", 0.01}, {"weight_decay", 0.0}}, {{"lr", 0.05}, {"weight_decay", 0.0}}},
      {"adamax", "adamax", {{"lr", 0.01}}, {{"lr", 0.01}}, {{"lr", 0.05}}},
      {"nadam", "nadam", {{"lr", 0.01}}, {{"lr", 0.01}}, {{"lr", 0.05}}},
      {"radam", "radam", {{"lr", 0.01}}, {{"lr", 1e-3}}, {{"lr", 0.05}}},
      {"adagrad", "adagrad", {{"lr", 0.5}}, {{"lr", 0.5}}, {{"lr", 0.5}}},
      {"adadelta", "adadelta", {{"lr", 0.1}, {"rho", 0.99}}, {{"lr", 0.02}}, {{"lr", 1.0}, {"eps", 1e-4}}},
      {"rmsprop", "rmsprop", {{"lr", 0.001}}, {{"lr", 0.001}}, {{"lr", 0.005}}},
      {"rmsprop_centered_momentum", "rmsprop", {{"lr", 0.001}, {"centered", true}, {"momentum", 0.5}}, {{"lr", 0.0005}, {"centered", true}, {"momentum", 0.5}}, {{"lr", 0.002}, {"centered", true}, {"momentum", 0.5}}},
      {"rprop", "rprop", {{"lr", 0.01}}, {{"lr", 0.01}}, {{"lr", 0.01}}},
      {"asgd", "asgd", {{"lr", 0.015}, {"t0", 100.0}}, {{"lr", 1e-3}, {"t0", 1e6}}, {{"lr", 2.0}, {"t0", 1e6}}},
      {"lion", "lion", {{"lr", 1e-3}, {"weight_decay", 0.0}}, {{"lr", 2e-4}, {"weight_decay", 0.0}}, {{"lr", 1e-3}, {"weight_decay", 0.0}}},
      {"lamb", "lamb", {{"lr", 0.01}}, {{"lr", 0.005}}, {{"lr", 0.05}}},
      {"lars", "lars", {{"lr", 5.0}}, {{"lr", 1.0}}, {{"lr", 5.0}}},
      {"adabelief", "adabelief", {{"lr", 0.01}}, {{"lr", 0.01}}, {{"lr", 0.05}}},
      {"yogi", "yogi", {{"lr", 0.01}}, {{"lr", 0.01}}, {{"lr", 0.05}}},
      {"novograd", "novograd", {{"lr", 1e-3}}, {{"lr", 1e-4}}, {{"lr", 0.01}}},
      {"adan", "adan", {{"lr", 0.01}}, {{"lr", 0.01}}, {{"lr", 0.05}}},
      {"schedule_free_adamw", "schedule_free_adamw", {{"lr", 0.01}}, {{"lr", 0.01}}, {{"lr", 0.05}}},
      {"adafactor", "adafactor", {{"lr", 0.01}}, {{"lr", 0.01}}, {{"lr", 1.0}}},
  };
}

std::string run(const Row& row, const Problem& problem, const nlohmann::json& options) {
  std::vector<double> x = problem.start, g(x.size());
  Tensor param = from_vector(x, Shape{std::int64_t(x.size())});
  param.set_grad(zeros(param.shape(), DType::Float64));
  auto optimizer = make_optimizer(row.name, {param}, options);
  double loss = 0;
  for (int step = 0; step < problem.steps; ++step) {
    x = param.to_vector<double>();
    loss = problem.loss_and_grad(x, g);
    std::copy(g.begin(), g.end(), param.grad().data<double>());
    optimizer->step();
  }
  x = param.to_vector<double>();
  loss = problem.loss_and_grad(x, g);
  std::string why;
  return problem.solved(x, loss, why) ? "" : row.label + " on " + problem.name + ": " + why;
}

class Convergence : public ::testing::TestWithParam<Row> {};

TEST_P(Convergence, IllConditionedQuadratic) { EXPECT_EQ(run(GetParam(), quadratic(), GetParam().quadratic), ""); }
TEST_P(Convergence, Rosenbrock) { EXPECT_EQ(run(GetParam(), rosenbrock(), GetParam().rosenbrock), ""); }
TEST_P(Convergence, LogisticRegression) { EXPECT_EQ(run(GetParam(), logistic(), GetParam().logistic), ""); }

std::string row_label(const ::testing::TestParamInfo<Row>& row) { return row.param.label; }

INSTANTIATE_TEST_SUITE_P(AllOptimizers, Convergence, ::testing::ValuesIn(rows()), row_label);

TEST(ConvergenceTable, CoversEveryRegisteredOptimizer) {
  for (const auto& name : optimizer_names()) {
    // L-BFGS needs a closure and Muon 2-D parameters: their convergence tests are in test_zoo_*.cpp.
    if (name == "lbfgs" || name == "muon") continue;
    const auto all = rows();
    EXPECT_TRUE(std::any_of(all.begin(), all.end(), [&](const Row& row) { return row.name == name; }))
        << name << " has no row in the convergence table";
  }
}

}  // namespace
}  // namespace descent::optim::testing
