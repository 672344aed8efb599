#include "descent/core/blas.hpp"

#include <cblas.h>

#include "descent/core/simd.hpp"

namespace descent::blas {

namespace {

// Degenerate products skip GEMM's packing, whose set-up costs microseconds that dominate the small layers
// of small models: a 1-feature input layer is a rank-1 update (a plain vectorisable loop), a 1-output
// layer and its gradients are matrix-vector products (BLAS gemv).
template <class T>
void rank1(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, T alpha, const T* a, std::int64_t lda,
           const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  const std::int64_t a_stride = trans_a ? 1 : lda;  // a is op(A)[:, 0]
  const std::int64_t b_stride = trans_b ? ldb : 1;  // b is op(B)[0, :]
  for (std::int64_t i = 0; i < m; ++i) {
    const T ai = alpha * a[i * a_stride];
    T* DESCENT_RESTRICT row = c + i * ldc;
    if (b_stride == 1) {
      if (beta == T(0)) {
        for (std::int64_t j = 0; j < n; ++j) row[j] = ai * b[j];
      } else {
        for (std::int64_t j = 0; j < n; ++j) row[j] = beta * row[j] + ai * b[j];
      }
    } else {
      for (std::int64_t j = 0; j < n; ++j) row[j] = (beta == T(0) ? T(0) : beta * row[j]) + ai * b[j * b_stride];
    }
  }
}

void gemv(bool trans, std::int64_t rows, std::int64_t cols, float alpha, const float* a, std::int64_t lda,
          const float* x, std::int64_t incx, float beta, float* y, std::int64_t incy) {
  cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasint(rows), blasint(cols), alpha, a, blasint(lda),
              x, blasint(incx), beta, y, blasint(incy));
}
void gemv(bool trans, std::int64_t rows, std::int64_t cols, double alpha, const double* a, std::int64_t lda,
          const double* x, std::int64_t incx, double beta, double* y, std::int64_t incy) {
  cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasint(rows), blasint(cols), alpha, a, blasint(lda),
              x, blasint(incx), beta, y, blasint(incy));
}

template <class T>
bool small_special_case(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                        const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                        std::int64_t ldc) {
  if (m == 0 || n == 0 || k == 0) return false;
  if (k == 1) {
    rank1(trans_a, trans_b, m, n, alpha, a, lda, b, ldb, beta, c, ldc);
    return true;
  }
  if (n != 1 && m != 1) return false;
  // y is a column (n == 1) or a row (m == 1) of C. BLAS may read y when beta is 0, and a fresh output
  // holds garbage, so it is cleared first.
  const std::int64_t len = n == 1 ? m : n, incy = n == 1 ? ldc : 1;
  if (beta == T(0)) {
    for (std::int64_t i = 0; i < len; ++i) c[i * incy] = T(0);
    beta = T(1);
  }
  if (n == 1) {  // c = op(A) x, x = op(B)[:, 0]
    const std::int64_t incx = trans_b ? 1 : ldb;
    if (trans_a) gemv(true, k, m, alpha, a, lda, b, incx, beta, c, incy);
    else gemv(false, m, k, alpha, a, lda, b, incx, beta, c, incy);
  } else {  // c^T = op(B)^T x, x = op(A)[0, :]
    const std::int64_t incx = trans_a ? lda : 1;
    if (trans_b) gemv(false, n, k, alpha, b, ldb, a, incx, beta, c, incy);
    else gemv(true, k, n, alpha, b, ldb, a, incx, beta, c, incy);
  }
  return true;
}

}  // namespace

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc) {
  if (small_special_case(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c,
              blasint(ldc));
}

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc) {
  if (small_special_case(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c,
              blasint(ldc));
}

}  // namespace descent::blas
