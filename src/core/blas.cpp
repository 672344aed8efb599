#include "descent/core/blas.hpp"

#include <cblas.h>

namespace descent::blas {

namespace {

// Degenerate products skip GEMM's packing: the general driver costs microseconds of set-up that dominate
// the small layers of small models (a 1-feature input layer is a rank-1 update, a 1-output layer a
// matrix-vector product).
template <class T>
bool small_special_case(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                        const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                        std::int64_t ldc) {
  auto at = [&](std::int64_t i, std::int64_t p) { return trans_a ? a[p * lda + i] : a[i * lda + p]; };
  auto bt = [&](std::int64_t p, std::int64_t j) { return trans_b ? b[j * ldb + p] : b[p * ldb + j]; };
  if (k == 1) {  // C = alpha * a b^T + beta * C, a of m, b of n
    for (std::int64_t i = 0; i < m; ++i) {
      const T ai = alpha * at(i, 0);
      T* row = c + i * ldc;
      if (beta == T(0)) {
        for (std::int64_t j = 0; j < n; ++j) row[j] = ai * bt(0, j);
      } else {
        for (std::int64_t j = 0; j < n; ++j) row[j] = beta * row[j] + ai * bt(0, j);
      }
    }
    return true;
  }
  if (n == 1 && m * k <= 4096) {  // matrix-vector: c[i] = alpha * sum_p a[i, p] b[p] + beta c[i]
    for (std::int64_t i = 0; i < m; ++i) {
      T acc = 0;
      if (!trans_a) {
        const T* row = a + i * lda;
        if (!trans_b && ldb == 1) {
          for (std::int64_t p = 0; p < k; ++p) acc += row[p] * b[p];
        } else {
          for (std::int64_t p = 0; p < k; ++p) acc += row[p] * bt(p, 0);
        }
      } else {
        for (std::int64_t p = 0; p < k; ++p) acc += at(i, p) * bt(p, 0);
      }
      c[i * ldc] = alpha * acc + (beta == T(0) ? T(0) : beta * c[i * ldc]);
    }
    return true;
  }
  if (m == 1 && (trans_b ? n * k <= 4096 : n * k <= (1 << 16))) {  // vector-matrix: c[j] = alpha * sum_p a[p] b[p, j] + beta c[j]
    T* row = c;
    if (beta == T(0)) {
      for (std::int64_t j = 0; j < n; ++j) row[j] = T(0);
    } else if (beta != T(1)) {
      for (std::int64_t j = 0; j < n; ++j) row[j] *= beta;
    }
    if (!trans_b) {
      for (std::int64_t p = 0; p < k; ++p) {
        const T ap = alpha * at(0, p);
        const T* brow = b + p * ldb;
        for (std::int64_t j = 0; j < n; ++j) row[j] += ap * brow[j];
      }
    } else {
      for (std::int64_t j = 0; j < n; ++j) {
        T acc = 0;
        const T* bcol = b + j * ldb;
        for (std::int64_t p = 0; p < k; ++p) acc += at(0, p) * bcol[p];
        row[j] += alpha * acc;
      }
    }
    return true;
  }
  return false;
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
