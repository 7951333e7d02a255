// CPU matmul: fixed output tiles, one single-threaded OpenBLAS call per tile (see kernels/matmul.hpp).
#include <cblas.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <mutex>

#include "kernels/matmul.hpp"

namespace tg {

namespace {
constexpr std::int64_t kTile = 128;

void blas_single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void gemm_call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
               const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
               std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}
void gemm_call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
               const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
               std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}
}  // namespace

template <typename T>
void matmul(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = beta * C
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  blas_single_threaded();
  const std::int64_t tm = (m + kTile - 1) / kTile, tn = (n + kTile - 1) / kTile;
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  tbb::parallel_for(std::int64_t{0}, tm * tn, [&](std::int64_t t) {
    const std::int64_t i0 = (t / tn) * kTile, j0 = (t % tn) * kTile;
    const std::int64_t mm = std::min(kTile, m - i0), nn = std::min(kTile, n - j0);
    // Row block i0 of op(A): rows of A, or columns of A when transposed.
    const T* ap = trans_a ? a + i0 : a + i0 * lda;
    // Column block j0 of op(B): columns of B, or rows of B when transposed.
    const T* bp = trans_b ? b + j0 * ldb : b + j0;
    gemm_call(ta, tb, mm, nn, k, alpha, ap, lda, bp, ldb, beta, c + i0 * ldc + j0, ldc);
  });
}

template void matmul<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                            const float*, std::int64_t, float, float*, std::int64_t);
template void matmul<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*, std::int64_t,
                             const double*, std::int64_t, double, double*, std::int64_t);

}  // namespace tg
