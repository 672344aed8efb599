#pragma once
// Row-major GEMM through BLAS: C = alpha * op(A) @ op(B) + beta * C.
#include <cstdint>

#include "descent/core/half.hpp"

namespace descent::blas {

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc);
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc);

// 16-bit operands, float32 accumulation and output. Every product of two bfloat16 (or two float16) values
// is exact in float32, so the kernels differ only in the order of the float32 sums.
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const BFloat16* a, std::int64_t lda, const BFloat16* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc);
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const Float16* a, std::int64_t lda, const Float16* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc);

// `batch` independent products C_i = alpha op(A_i) op(B_i) + beta C_i, the i-th operands at a + i * stride_a,
// b + i * stride_b and c + i * stride_c: one oneDNN call for the whole batch where the bfloat16 kernel is
// oneDNN (many small products, as attention's per-head ones, cost little more than one large one).
void gemm_batched(bool trans_a, bool trans_b, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k,
                  float alpha, const BFloat16* a, std::int64_t stride_a, std::int64_t lda, const BFloat16* b,
                  std::int64_t stride_b, std::int64_t ldb, float beta, float* c, std::int64_t stride_c,
                  std::int64_t ldc);
void gemm_batched(bool trans_a, bool trans_b, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k,
                  float alpha, const Float16* a, std::int64_t stride_a, std::int64_t lda, const Float16* b,
                  std::int64_t stride_b, std::int64_t ldb, float beta, float* c, std::int64_t stride_c,
                  std::int64_t ldc);

// The kernel behind the bfloat16 GEMM: oneDNN on processors with AVX512-BF16 (vdpbf16ps), otherwise
// widening the operands to float32 and calling the float32 GEMM. DESCENT_BF16_GEMM=widen forces the
// fallback (=onednn insists on oneDNN). float16 always widens (F16C): this processor family has no
// float16 arithmetic that beats it.
enum class Bf16Kernel { OneDnn, Widen };
Bf16Kernel bf16_kernel();
const char* bf16_kernel_name(Bf16Kernel kernel);
// Whether the processor runs oneDNN's bfloat16 kernels natively.
bool cpu_has_bf16();
// Chooses the kernel for the rest of the process (tests compare the two); OneDnn needs cpu_has_bf16().
void set_bf16_kernel(Bf16Kernel kernel);

}  // namespace descent::blas
