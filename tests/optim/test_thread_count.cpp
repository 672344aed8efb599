// The optimizers whose update needs a sum over each tensor (LAMB, LARS, NovoGrad, Adafactor) give the same
// bits on 1, 2 and 3 threads: their sums are taken over fixed blocks added in one order, whichever thread
// takes a block. The tensors are large enough that both the sum pass and the update pass split across
// threads (at least 2 * kGrain elements), with sizes that are not multiples of a block, beside small ones
// that run on the calling thread.
#include "descent/core/parallel.hpp"
#include "helpers.hpp"

namespace descent::optim::testing {
namespace {

const std::vector<Shape> kShapes = {Shape{300007}, Shape{140001}, Shape{70000}, Shape{17}};

struct StepsRun {
  std::vector<Tensor> params;
  std::unique_ptr<Optimizer> optimizer;
};

StepsRun run_steps(const std::string& name, const nlohmann::json& options, int threads, int steps) {
  const int saved_threads = num_threads();
  set_num_threads(threads);
  Generator gen(11);
  StepsRun run;
  for (const Shape& shape : kShapes) {
    Tensor p = rand(shape, gen, DType::Float32, -1.0, 1.0);
    p.set_grad(zeros(shape, DType::Float32));
    run.params.push_back(p);
  }
  run.optimizer = make_optimizer(name, run.params, options);
  for (int step = 0; step < steps; ++step) {
    fill_grads(run.params, 29, step);
    run.optimizer->step();
  }
  set_num_threads(saved_threads);
  return run;
}

class ThreadCount : public ::testing::TestWithParam<std::pair<std::string, nlohmann::json>> {};

TEST_P(ThreadCount, SameBitsOnOneTwoAndThreeThreads) {
  const auto& [name, options] = GetParam();
  const StepsRun one = run_steps(name, options, 1, 3);
  for (const int threads : {2, 3}) {
    const StepsRun more = run_steps(name, options, threads, 3);
    EXPECT_EQ(compare_optimizers(one.params, *one.optimizer, more.params, *more.optimizer, 0), "")
        << name << " on " << threads << " threads against one";
  }
}

INSTANTIATE_TEST_SUITE_P(
    TwoPassOptimizers, ThreadCount,
    ::testing::Values(std::pair<std::string, nlohmann::json>{"lamb", {{"weight_decay", 0.01}}},
                      std::pair<std::string, nlohmann::json>{"lars", {{"weight_decay", 0.01}}},
                      std::pair<std::string, nlohmann::json>{"novograd", {{"weight_decay", 0.01}}},
                      std::pair<std::string, nlohmann::json>{"adafactor", {{"weight_decay", 0.01}}}),
    [](const auto& test) { return test.param.first; });

}  // namespace
}  // namespace descent::optim::testing
