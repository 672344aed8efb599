// The heavy-ball momentum study (see include/descent/trajectory/momentum.hpp).
#include "descent/trajectory/momentum.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "descent/core/error.hpp"
#include "descent/core/tensor.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/trajectory/functions.hpp"

namespace descent::trajectory {
namespace {

// Stop once ||x_t|| / ||x_0|| leaves [1/kEscape, kEscape]: the squares in the norm stay finite and normal.
constexpr double kEscape = 1e100;

constexpr const char* kSource =
    "Polyak 1964, Some methods of speeding up the convergence of iteration methods, USSR Computational "
    "Mathematics and Mathematical Physics 4(5):1-17 (optimal heavy-ball parameters on quadratics); "
    "see also Goh 2017, Why Momentum Really Works, Distill";

double norm(std::span<const double> x) {
  double squared = 0;
  for (const double v : x) squared += v * v;
  return std::sqrt(squared);
}

// exp(slope) of the least-squares line through (t, log d_t) over the second half of the samples.
double tail_rate(const std::vector<double>& log_distance) {
  const std::size_t first = log_distance.size() / 2, count = log_distance.size() - first;
  if (count < 2) return std::exp(log_distance.back() - log_distance.front());
  double mean_t = 0, mean_y = 0;
  for (std::size_t t = first; t < log_distance.size(); ++t) {
    mean_t += static_cast<double>(t);
    mean_y += log_distance[t];
  }
  mean_t /= static_cast<double>(count);
  mean_y /= static_cast<double>(count);
  double covariance = 0, variance = 0;
  for (std::size_t t = first; t < log_distance.size(); ++t) {
    covariance += (static_cast<double>(t) - mean_t) * (log_distance[t] - mean_y);
    variance += (static_cast<double>(t) - mean_t) * (static_cast<double>(t) - mean_t);
  }
  return std::exp(covariance / variance);
}

std::vector<double> evenly_spaced(double from, double to, int count) {
  std::vector<double> values;
  for (int k = 0; k < count; ++k)
    values.push_back(count == 1 ? from : from + (to - from) * static_cast<double>(k) / (count - 1));
  return values;
}

void validate(const MomentumStudyOptions& o) {
  DESCENT_CHECK(std::isfinite(o.condition_number) && o.condition_number >= 1, "momentum-study: condition ",
                o.condition_number, " is invalid: expected a number >= 1");
  DESCENT_CHECK(std::isfinite(o.mu) && o.mu > 0, "momentum-study: mu ", o.mu, " is invalid: expected a number > 0");
  DESCENT_CHECK(o.dims >= 2, "momentum-study: dims ", o.dims, " is invalid: expected an integer >= 2");
  DESCENT_CHECK(o.steps >= 4, "momentum-study: steps ", o.steps, " is invalid: expected an integer >= 4");
  for (const double lr : o.lrs)
    DESCENT_CHECK(std::isfinite(lr) && lr > 0, "momentum-study: learning rate ", lr, " is invalid: expected > 0");
  for (const double momentum : o.momenta)
    DESCENT_CHECK(std::isfinite(momentum) && momentum >= 0 && momentum < 1, "momentum-study: momentum ", momentum,
                  " is invalid: expected a number in [0, 1)");
}

}  // namespace

HeavyBallTheory heavy_ball_theory(double mu, double L) {
  const double root_kappa = std::sqrt(L / mu), kappa = L / mu;
  const double rate = (root_kappa - 1) / (root_kappa + 1);
  return {4 / ((std::sqrt(L) + std::sqrt(mu)) * (std::sqrt(L) + std::sqrt(mu))), rate * rate, rate, 2 / (L + mu),
          (kappa - 1) / (kappa + 1)};
}

std::optional<double> measured_rate(const MomentumStudyOptions& options, double lr, double momentum) {
  const auto quadratic =
      make_function("quadratic", {.dims = options.dims, .condition_number = options.condition_number, .mu = options.mu});
  const auto dims = static_cast<std::size_t>(options.dims);
  Tensor param = full(Shape{options.dims}, 1.0, DType::Float64);
  param.set_grad(zeros(param.shape(), DType::Float64));
  const std::span<double> x(param.data<double>(), dims), gradient(param.grad().data<double>(), dims);
  // PyTorch's SGD with these options is Polyak's heavy ball with alpha = lr, beta = momentum (see header).
  auto sgd = optim::make_optimizer("sgd", {param}, {{"lr", lr}, {"momentum", momentum}});
  const double initial = norm(x);
  std::vector<double> log_distance{0.0};
  log_distance.reserve(static_cast<std::size_t>(options.steps) + 1);
  for (std::int64_t step = 0; step < options.steps; ++step) {
    quadratic->evaluate(x, gradient);
    sgd->step();
    const double relative = norm(x) / initial;  // x* = 0
    if (std::isnan(relative)) return std::nullopt;
    if (relative <= 0 || std::isinf(relative)) break;  // exactly at the minimum: the rate is already measured by what came before
    log_distance.push_back(std::log(relative));
    if (relative < 1 / kEscape || relative > kEscape) break;
  }
  return tail_rate(log_distance);
}

MomentumStudy run_momentum_study(MomentumStudyOptions options) {
  validate(options);
  const auto started = std::chrono::steady_clock::now();
  const double L = options.mu * options.condition_number;
  MomentumStudy study;
  study.theory = heavy_ball_theory(options.mu, L);
  if (options.lrs.empty()) options.lrs = evenly_spaced(0.1 * study.theory.lr, 2 * study.theory.lr, 39);
  if (options.momenta.empty()) options.momenta = evenly_spaced(0, 0.98, 50);
  study.options = options;
  study.best_rate = INFINITY;
  for (const double momentum : options.momenta) {
    auto& row = study.rate.emplace_back();
    for (const double lr : options.lrs) {
      row.push_back(measured_rate(options, lr, momentum));
      if (row.back() && *row.back() < study.best_rate) {
        study.best_rate = *row.back();
        study.best_lr = lr;
        study.best_momentum = momentum;
      }
    }
  }
  study.gd_rate_measured = measured_rate(options, study.theory.gd_lr, 0).value_or(NAN);
  study.theory_rate_measured = measured_rate(options, study.theory.lr, study.theory.momentum).value_or(NAN);
  study.compute_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return study;
}

nlohmann::json momentum_json(const MomentumStudy& study) {
  const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json rate = nlohmann::json::array();
  for (const auto& row : study.rate) {
    auto& out = rate.emplace_back(nlohmann::json::array());
    for (const auto& value : row) out.push_back(value ? number(*value) : nlohmann::json(nullptr));
  }
  const auto& o = study.options;
  const auto& theory = study.theory;
  return {{"kind", "momentum_study"},
          {"condition_number", o.condition_number},
          {"mu", o.mu},
          {"L", o.mu * o.condition_number},
          {"dims", o.dims},
          {"steps", o.steps},
          {"lrs", o.lrs},
          {"momenta", o.momenta},
          {"rate", rate},
          {"theory", {{"lr", theory.lr}, {"momentum", theory.momentum}, {"rate", theory.rate},
                      {"rate_measured", number(study.theory_rate_measured)}, {"source", kSource}}},
          {"measured_best", {{"lr", study.best_lr}, {"momentum", study.best_momentum}, {"rate", number(study.best_rate)}}},
          {"gd", {{"lr", theory.gd_lr}, {"rate_theory", theory.gd_rate}, {"rate_measured", number(study.gd_rate_measured)}}},
          {"rate_method", "exp of the least-squares slope of log ||x_t - x*|| over the second half of the run"},
          {"compute_seconds", study.compute_seconds}};
}

std::vector<double> parse_range(const std::string& text, const std::string& what) {
  const auto first = text.find(':'), second = text.find(':', first == std::string::npos ? first : first + 1);
  const auto fail = [&] {
    return Error(what + " '" + text + "' is invalid: expected a:b:n, n evenly spaced values from a to b (n >= 1)");
  };
  if (first == std::string::npos || second == std::string::npos) throw fail();
  const auto read = [&](const std::string& part) {
    char* end = nullptr;
    const double value = std::strtod(part.c_str(), &end);
    if (part.empty() || end != part.c_str() + part.size() || !std::isfinite(value)) throw fail();
    return value;
  };
  const double from = read(text.substr(0, first)), to = read(text.substr(first + 1, second - first - 1));
  const double count = read(text.substr(second + 1));
  if (count < 1 || count != std::floor(count) || count > 1e6) throw fail();
  return evenly_spaced(from, to, static_cast<int>(count));
}

}  // namespace descent::trajectory
