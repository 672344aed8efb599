// The fast path (threaded, vectorised, merged segments) against the plain scalar loop: same random inputs,
// several steps, parameters and every state buffer compared bitwise (both paths run the same rule in the
// same instruction-set clone, so they round identically).
#include "helpers.hpp"

namespace descent::optim::testing {
namespace {

class FastPath : public ::testing::TestWithParam<Config> {};

void check_fast_against_reference(const Config& config, bool arena, nlohmann::json options, DType dtype) {
  auto fast_set = make_params(odd_sizes(), arena, 7, dtype);
  auto reference_set = make_params(odd_sizes(), /*arena=*/false, 7, dtype);
  auto fast = make_optimizer(config.name, fast_set.params, options);
  auto reference = make_optimizer(config.name, reference_set.params, options);
  reference->set_reference_path(true);
  for (int step = 0; step < 6; ++step) {
    fill_grads(fast_set.params, 11, step);
    fill_grads(reference_set.params, 11, step);
    fast->step();
    reference->step();
    if (step != 0 && step != 5) continue;  // compare after the first step (state creation) and the last
    const auto diff = compare_optimizers(fast_set.params, *fast, reference_set.params, *reference, 0);
    ASSERT_EQ(diff, "") << config.label << " step " << step + 1 << (arena ? " (arena)" : "");
  }
}

TEST_P(FastPath, MatchesReferenceLoopFloat32Arena) {
  check_fast_against_reference(GetParam(), true, GetParam().options, DType::Float32);
}

TEST_P(FastPath, MatchesReferenceLoopFloat32SeparateTensors) {
  check_fast_against_reference(GetParam(), false, GetParam().options, DType::Float32);
}

TEST_P(FastPath, MatchesReferenceLoopFloat64) {
  check_fast_against_reference(GetParam(), true, GetParam().options, DType::Float64);
}

TEST_P(FastPath, MatchesReferenceLoopBFloat16State) {
  auto options = GetParam().options;
  options["state_dtype"] = "bfloat16";
  check_fast_against_reference(GetParam(), true, options, DType::Float32);
}

INSTANTIATE_TEST_SUITE_P(AllOptimizers, FastPath, ::testing::ValuesIn(all_configs()), config_label);

}  // namespace
}  // namespace descent::optim::testing
