// `descent bench optim`: the time of one optimizer step over T tensors laid out contiguously as in a
// model's arena, against a roofline measured in the same run: a trivial kernel (one add per array) that
// reads the arrays the step reads and writes the arrays it writes, on buffers of the same sizes, with the
// same threads and chunking; step and roofline alternate round by round. Prints one JSON object.
// --rows R shapes every tensor as an R x (size / R) matrix (Adafactor factors the state of such tensors).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "command.hpp"
#include "descent/core/allocator.hpp"
#include "descent/core/parallel.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/simd.hpp"
#include "descent/optim/kernel.hpp"
#include "descent/optim/optimizer.hpp"

namespace descent::cli {
namespace {

struct OptimBenchOptions {
  std::string algo = "adamw";
  std::int64_t params = 10'000'000;
  std::int64_t tensors = 20;
  std::int64_t rows = 1;  // 1: 1-D tensors; R > 1: R x (size / R) matrices
  std::int64_t steps = 30;
  int threads = 0;
  std::string state_dtype = "float32";
  std::string options = "{}";
};

// The roofline kernel: p += g and s_k += 1 for each of K state arrays, in one pass.
template <class S, int K>
DESCENT_MULTIVERSION void touch(float* DESCENT_RESTRICT p, const float* DESCENT_RESTRICT g,
                                S* DESCENT_RESTRICT a, S* DESCENT_RESTRICT b, S* DESCENT_RESTRICT c,
                                std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    p[i] += g[i];
    if constexpr (K > 0) a[i] = S(a[i] + S(1));
    if constexpr (K > 1) b[i] = S(b[i] + S(1));
    if constexpr (K > 2) c[i] = S(c[i] + S(1));
  }
}

template <class S>
void roofline_pass(float* p, const float* g, const std::vector<S*>& state, std::int64_t n) {
  parallel_for(0, n, optim::kGrain, [&](std::int64_t lo, std::int64_t hi) {
    S* a = state.size() > 0 ? state[0] + lo : nullptr;
    S* b = state.size() > 1 ? state[1] + lo : nullptr;
    S* c = state.size() > 2 ? state[2] + lo : nullptr;
    switch (state.size()) {
      case 0: touch<S, 0>(p + lo, g + lo, a, b, c, hi - lo); break;
      case 1: touch<S, 1>(p + lo, g + lo, a, b, c, hi - lo); break;
      case 2: touch<S, 2>(p + lo, g + lo, a, b, c, hi - lo); break;
      default: touch<S, 3>(p + lo, g + lo, a, b, c, hi - lo); break;
    }
  });
}

double median(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

template <class Fn>
double elapsed_ms(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// The roofline kernel over freshly allocated state buffers of the step's sizes and the step's own
// parameter and gradient arenas.
template <class S>
class Roofline {
 public:
  Roofline(Tensor& param_arena, const Tensor& grad_arena, std::size_t state_arrays, std::int64_t n)
      : p_(param_arena.data<float>()), g_(grad_arena.data<float>()), n_(n) {
    for (std::size_t k = 0; k < state_arrays; ++k) {
      // Float32 storage of sufficient size; viewed as S.
      owners_.push_back(zeros(Shape{(n * std::int64_t(sizeof(S)) + 3) / 4}));
      state_.push_back(reinterpret_cast<S*>(owners_.back().data<float>()));
    }
    pass();  // first touch
  }
  void pass() { roofline_pass<S>(p_, g_, state_, n_); }

 private:
  std::vector<Tensor> owners_;
  std::vector<S*> state_;
  float* p_;
  const float* g_;
  std::int64_t n_;
};

// Times `steps` rounds of one optimizer step followed by one roofline pass, so that both medians are taken
// under the same conditions (on a shared machine the memory bandwidth drifts from second to second, and
// timing all steps first and all roofline passes after compares different machines).
template <class S>
std::pair<double, double> interleaved_ms(optim::Optimizer& optimizer, Roofline<S> roofline, std::int64_t steps) {
  std::vector<double> step_times, roof_times;
  for (std::int64_t i = 0; i < steps; ++i) {
    step_times.push_back(elapsed_ms([&] { optimizer.step(); }));
    roof_times.push_back(elapsed_ms([&] { roofline.pass(); }));
  }
  return {median(step_times), median(roof_times)};
}

void run_optim_bench(const OptimBenchOptions& o) {
  DESCENT_CHECK(o.params >= o.tensors && o.tensors > 0 && o.steps > 0, "bench optim: need --params >= --tensors > 0 ",
                "and --steps > 0; got params ", o.params, ", tensors ", o.tensors, ", steps ", o.steps);
  if (o.threads > 0) set_num_threads(o.threads);
  nlohmann::json options = nlohmann::json::parse(o.options);
  DESCENT_CHECK(options.is_object(), "bench optim: --options must be a JSON object, got ", o.options);
  options["state_dtype"] = o.state_dtype;

  // One parameter arena and one gradient arena; T contiguous views of each.
  Generator gen(0);
  Tensor param_arena = rand(Shape{o.params}, gen, DType::Float32, -1.0, 1.0);
  Tensor grad_arena = rand(Shape{o.params}, gen, DType::Float32, -1e-2, 1e-2);
  std::vector<Tensor> params;
  const std::int64_t per_tensor = o.params / o.tensors;
  for (std::int64_t t = 0; t < o.tensors; ++t) {
    const std::int64_t size = t + 1 == o.tensors ? o.params - per_tensor * t : per_tensor;
    DESCENT_CHECK(size % o.rows == 0, "bench optim: --rows ", o.rows, " does not divide the size ", size, " of tensor ",
                  t, " (--params ", o.params, " split into --tensors ", o.tensors,
                  "); expected --rows to divide every tensor's size");
    const Shape shape = o.rows == 1 ? Shape{size} : Shape{o.rows, size / o.rows};
    const Shape strides = o.rows == 1 ? Shape{1} : Shape{size / o.rows, 1};
    Tensor p = as_strided(param_arena, shape, strides, per_tensor * t);
    p.set_grad(as_strided(grad_arena, shape, strides, per_tensor * t));
    params.push_back(p);
  }
  auto optimizer = optim::make_optimizer(o.algo, params, options);
  for (int i = 0; i < 3; ++i) optimizer->step();  // allocates and first-touches the state

  const bool bf16 = optimizer->state_dtype() == optim::StateDType::BFloat16;
  const std::size_t state_bytes = optimizer->state_bytes();
  const std::size_t element_bytes = bf16 ? 2 : 4;
  // Whole per-element state arrays (Adam's m and v: 2). Factored state (Adafactor's row and column means of
  // a matrix, R + C numbers for R x C parameters) is far smaller than one array and counts as none here.
  const std::size_t state_arrays = state_bytes / (std::size_t(o.params) * element_bytes);
  // The least traffic a step can have: read p and g, write p, read and write all of the state once. This
  // holds for per-element state (the roofline touches the same arrays) and for factored state alike, whose
  // bytes are added as they are: rows + columns per matrix, not one number per element. The roofline
  // kernel leaves the small factored state out, which changes its time by less than (R + C) / (R C).
  const double bytes_per_step = double(o.params) * 12.0 + 2.0 * double(state_bytes);
  const auto [step_ms, roof_ms] =
      bf16 ? interleaved_ms(*optimizer, Roofline<std::uint16_t>(param_arena, grad_arena, state_arrays, o.params),
                            o.steps)
           : interleaved_ms(*optimizer, Roofline<float>(param_arena, grad_arena, state_arrays, o.params), o.steps);
  nlohmann::json result = {{"benchmark", "optim"},
                           {"algo", o.algo},
                           {"options", optimizer->param_groups()[0].options},
                           {"state_dtype", o.state_dtype},
                           {"params", o.params},
                           {"tensors", o.tensors},
                           {"rows", o.rows},
                           {"state_arrays", state_arrays},
                           {"steps", o.steps},
                           {"threads", num_threads()},
                           {"state_bytes", state_bytes},
                           {"bytes_per_step", bytes_per_step},
                           {"ms_per_step", step_ms},
                           {"gb_per_s", bytes_per_step / step_ms / 1e6},
                           {"roofline_ms", roof_ms},
                           {"roofline_gb_per_s", bytes_per_step / roof_ms / 1e6},
                           {"ratio", step_ms / roof_ms}};
  std::cout << result.dump() << "\n";
}

}  // namespace

static RegisterCommand reg_optim{
    "bench optim", "time one optimizer step over an arena of parameters against a memory roofline",
    [](CLI::App& sub) {
      auto options = std::make_shared<OptimBenchOptions>();
      sub.add_option("--algo", options->algo, "optimizer name (see the registry), default adamw");
      sub.add_option("--params", options->params, "total parameters")->check(positive_number());
      sub.add_option("--tensors", options->tensors, "number of tensors the parameters are split into")
          ->check(positive_number());
      sub.add_option("--rows", options->rows, "shape each tensor as a matrix [rows, size / rows]; 1: 1-D (default)")
          ->check(positive_number());
      sub.add_option("--steps", options->steps, "timed steps (median reported)")->check(positive_number());
      sub.add_option("--threads", options->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
      sub.add_option("--state-dtype", options->state_dtype, "float32 or bfloat16")
          ->check(CLI::IsMember({"float32", "bfloat16"}));
      sub.add_option("--options", options->options, "optimizer options as JSON, e.g. '{\"momentum\":0.9}'");
      sub.callback([options] { run_optim_bench(*options); });
    }};

}  // namespace descent::cli
