// Adafactor's factored update (parameters of two or more dimensions): the fast path (threaded over blocks
// of rows, vectorised over columns) against the plain reference loops, bitwise, for every state tensor
// and parameter, on shapes that cover vector tails, one-row and one-column matrices, batched matrices,
// several blocks of rows and tiny batched (convolution-like) matrices, with 1 and 2 threads. On AVX-512
// processors a plain run checks the 64-byte loops; ctest runs the *FastPath* tests once more with
// DESCENT_OPTIM_VECTOR_BYTES=32 for the 32-byte ones.
#include <limits>

#include "descent/core/parallel.hpp"
#include "helpers.hpp"

namespace descent::optim::testing {
namespace {

// A 1-D tensor in the mix keeps the unfactored path running beside the factored one.
const std::vector<Shape> kShapes = {
    Shape{37, 53},      // odd sizes: every row has a vector body and a scalar tail
    Shape{1, 301},      // one row
    Shape{301, 1},      // one column: tails only
    Shape{3, 17, 29},   // batched over a leading dimension
    Shape{300, 517},    // several blocks of rows (column sums combined across blocks)
    Shape{2, 150, 300}, // batched, two blocks per matrix
    Shape{70001, 1},    // one column, several blocks
    Shape{8, 4, 3, 3},  // many tiny matrices (a convolution kernel)
    Shape{17},
};

struct ShapedParams {
  std::vector<Tensor> params;
};

ShapedParams make_shaped_params(DType dtype) {
  Generator gen(5);
  ShapedParams set;
  for (const Shape& shape : kShapes) {
    Tensor p = rand(shape, gen, dtype, -1.0, 1.0);
    p.set_grad(zeros(shape, dtype));
    set.params.push_back(p);
  }
  return set;
}

// Runs `steps` steps of a fast and a reference optimizer on the same data and returns the first
// difference (parameters or state), or "".
std::string fast_against_reference(const nlohmann::json& options, DType dtype, int threads, int steps = 4) {
  const int saved_threads = num_threads();
  set_num_threads(threads);
  auto fast_set = make_shaped_params(dtype), reference_set = make_shaped_params(dtype);
  auto fast = make_optimizer("adafactor", fast_set.params, options);
  auto reference = make_optimizer("adafactor", reference_set.params, options);
  reference->set_reference_path(true);
  std::string diff;
  for (int step = 0; step < steps && diff.empty(); ++step) {
    fill_grads(fast_set.params, 13, step);
    fill_grads(reference_set.params, 13, step);
    fast->step();
    reference->step();
    diff = compare_optimizers(fast_set.params, *fast, reference_set.params, *reference, 0);
    if (!diff.empty()) diff = "step " + std::to_string(step + 1) + ": " + diff;
  }
  set_num_threads(saved_threads);
  return diff;
}

struct Variant {
  std::string label;
  nlohmann::json options;
};

std::vector<Variant> variants() {
  return {
      {"defaults", nlohmann::json::object()},
      {"weight_decay_maximize", {{"lr", 0.05}, {"weight_decay", 0.1}, {"maximize", true}}},
      // A large d never clips the update; d = 1 with lr = 1 does (RMS(u) is near 1).
      {"no_clipping", {{"lr", 1.0}, {"d", 100.0}}},
      {"beta2_decay_eps", {{"lr", 0.3}, {"beta2_decay", -0.5}, {"eps", {1e-3, 1e-2}}}},
      // Adafactor keeps its state in the parameter's dtype; the option must not change either path.
      {"bfloat16_state_option", {{"lr", 0.05}, {"state_dtype", "bfloat16"}}},
  };
}

TEST(AdafactorFactored, FastPathMatchesReferenceLoopFloat32) {
  for (const Variant& v : variants())
    for (const int threads : {1, 2})
      EXPECT_EQ(fast_against_reference(v.options, DType::Float32, threads), "")
          << v.label << ", " << threads << " thread(s)";
}

TEST(AdafactorFactored, FastPathMatchesReferenceLoopFloat64) {
  for (const Variant& v : variants())
    for (const int threads : {1, 2})
      EXPECT_EQ(fast_against_reference(v.options, DType::Float64, threads), "")
          << v.label << ", " << threads << " thread(s)";
}

// The fast path gives the same bits with 1, 2 and 3 threads (3 does not divide the block counts evenly).
TEST(AdafactorFactored, FastPathDoesNotDependOnThreadCount) {
  const nlohmann::json options = {{"lr", 0.05}, {"weight_decay", 0.01}};
  std::vector<std::vector<std::vector<double>>> runs;
  const int saved_threads = num_threads();
  for (const int threads : {1, 2, 3}) {
    set_num_threads(threads);
    auto set = make_shaped_params(DType::Float32);
    auto optimizer = make_optimizer("adafactor", set.params, options);
    for (int step = 0; step < 3; ++step) {
      fill_grads(set.params, 17, step);
      optimizer->step();
    }
    std::vector<std::vector<double>> values;
    for (const Tensor& p : set.params) values.push_back(p.to_vector<double>());
    for (const auto& [key, tensor] : optimizer->state_dict().tensors) values.push_back(tensor.to_vector<double>());
    runs.push_back(values);
  }
  set_num_threads(saved_threads);
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
}

// The factored update itself, against the formulas computed here in double on a small matrix (one step from
// zero state: beta_t = 1, so row_var and col_var are exactly the row and column means of g^2).
TEST(AdafactorFactored, FirstStepFollowsTheFormulas) {
  for (const bool reference_path : {true, false}) {
    Generator gen(3);
    Tensor p = rand(Shape{5, 11}, gen, DType::Float64, -1.0, 1.0);
    Tensor grad = rand(Shape{5, 11}, gen, DType::Float64, -1.0, 1.0);
    p.set_grad(grad);
    const auto x = p.to_vector<double>(), g = grad.to_vector<double>();
    auto optimizer = make_optimizer("adafactor", {p}, {{"lr", 0.5}, {"weight_decay", 0.1}});
    optimizer->set_reference_path(reference_path);
    optimizer->step();
    const double eps1 = std::numeric_limits<float>::epsilon(), eps2 = 1e-3, lr = 0.5, wd = 0.1;
    std::vector<double> row(5, 0.0), col(11, 0.0);
    double param_sq = 0;
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 11; ++c) {
        row[r] += g[r * 11 + c] * g[r * 11 + c] / 11;
        col[c] += g[r * 11 + c] * g[r * 11 + c] / 5;
        param_sq += x[r * 11 + c] * x[r * 11 + c];
      }
    double row_mean = 0;
    for (double v : row) row_mean += v / 5;
    std::vector<double> u(55);
    double update_sq = 0;
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 11; ++c) {
        u[r * 11 + c] = g[r * 11 + c] / std::sqrt(std::max(row[r] * col[c] / std::max(row_mean, eps1), eps1 * eps1));
        update_sq += u[r * 11 + c] * u[r * 11 + c];
      }
    const double alpha = std::max(eps2, std::sqrt(param_sq / 55)) * std::min(lr, 1.0);
    const double denom = std::max(1.0, std::sqrt(update_sq / 55));
    const auto got = p.to_vector<double>();
    for (int i = 0; i < 55; ++i)
      EXPECT_NEAR(got[i], x[i] * (1 - lr * wd) - alpha / denom * u[i], 1e-12)
          << "element " << i << (reference_path ? " (reference path)" : " (fast path)");
    const auto row_var = optimizer->state_dict().tensors.at("0.row_var").to_vector<double>();
    for (int r = 0; r < 5; ++r) EXPECT_NEAR(row_var[r], row[r], 1e-15) << "row " << r;
  }
}

}  // namespace
}  // namespace descent::optim::testing
