#include "descent/optim/kernel.hpp"

#include <cstdlib>
#include <string>

#include "descent/core/error.hpp"

namespace descent::optim {

bool processor_has_avx512() {
#if DESCENT_OPTIM_AVX512
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

namespace {

bool choose_wide_vectors() {
  const bool available = processor_has_avx512();
  const char* env = std::getenv("DESCENT_OPTIM_VECTOR_BYTES");
  if (env == nullptr || *env == '\0') return available;
  const std::string bytes = env;
  DESCENT_CHECK(bytes == "32" || bytes == "64", "DESCENT_OPTIM_VECTOR_BYTES must be 32 or 64, got '", bytes, "'");
  DESCENT_CHECK(bytes == "32" || available,
                "DESCENT_OPTIM_VECTOR_BYTES=64 needs a processor with AVX-512 (F, DQ, BW, VL); this one has none");
  return bytes == "64";
}

}  // namespace

bool wide_vectors() {
  static const bool wide = choose_wide_vectors();
  return wide;
}

}  // namespace descent::optim
