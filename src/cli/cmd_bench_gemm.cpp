// `descent bench gemm`: the bfloat16 GEMM (each kernel this processor has) against the float32 GEMM on
// the same problem, in one run. Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "command.hpp"
#include "descent/core/blas.hpp"
#include "descent/core/error.hpp"
#include "descent/core/parallel.hpp"
#include "descent/core/rng.hpp"

namespace descent::cli {
namespace {

struct GemmBenchOptions {
  std::int64_t m = 1024, n = 1024, k = 1024;
  int repeats = 10;
  int threads = 0;
};

template <class F>
double best_seconds(int repeats, F f) {
  f();  // warm-up: primitive creation, first touches
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

void run_gemm_bench(const GemmBenchOptions& o) {
  DESCENT_CHECK(o.m > 0 && o.n > 0 && o.k > 0 && o.repeats > 0, "bench gemm: sizes and --repeats must be positive");
  if (o.threads > 0) set_num_threads(o.threads);
  Generator gen(0);
  std::vector<float> a(std::size_t(o.m * o.k)), b(std::size_t(o.k * o.n)), c(std::size_t(o.m * o.n));
  for (auto& v : a) v = float(gen.normal());
  for (auto& v : b) v = float(gen.normal());
  std::vector<BFloat16> ah(a.size()), bh(b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ah[i] = BFloat16(a[i]);
  for (std::size_t i = 0; i < b.size(); ++i) bh[i] = BFloat16(b[i]);
  const double flops = 2.0 * double(o.m) * double(o.n) * double(o.k);
  const double fp32 = best_seconds(o.repeats, [&] {
    blas::gemm(false, false, o.m, o.n, o.k, 1.0f, a.data(), o.k, b.data(), o.n, 0.0f, c.data(), o.n);
  });
  nlohmann::json result = {{"benchmark", "gemm"}, {"m", o.m}, {"n", o.n}, {"k", o.k}, {"threads", num_threads()},
                           {"fp32_gflops", flops / fp32 / 1e9}};
  const blas::Bf16Kernel initial = blas::bf16_kernel();
  std::vector<blas::Bf16Kernel> kernels{blas::Bf16Kernel::Widen};
  if (blas::cpu_has_bf16()) kernels.push_back(blas::Bf16Kernel::OneDnn);
  for (const auto kernel : kernels) {
    blas::set_bf16_kernel(kernel);
    const double seconds = best_seconds(o.repeats, [&] {
      blas::gemm(false, false, o.m, o.n, o.k, 1.0f, ah.data(), o.k, bh.data(), o.n, 0.0f, c.data(), o.n);
    });
    const std::string name = blas::bf16_kernel_name(kernel);
    result["bf16_" + name + "_gflops"] = flops / seconds / 1e9;
    result["bf16_" + name + "_vs_fp32"] = fp32 / seconds;
  }
  blas::set_bf16_kernel(initial);
  std::cout << result.dump() << "\n";
}

}  // namespace

static RegisterCommand reg_gemm{
    "bench gemm", "the bfloat16 GEMM's kernels against the float32 GEMM on one problem", [](CLI::App& sub) {
      auto options = std::make_shared<GemmBenchOptions>();
      sub.add_option("--m", options->m, "rows of A and C")->check(positive_number());
      sub.add_option("--n", options->n, "columns of B and C")->check(positive_number());
      sub.add_option("--k", options->k, "the inner dimension")->check(positive_number());
      sub.add_option("--repeats", options->repeats, "timed runs (the best counts)")->check(positive_number());
      sub.add_option("--threads", options->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
      sub.callback([options] { run_gemm_bench(*options); });
    }};

}  // namespace descent::cli
