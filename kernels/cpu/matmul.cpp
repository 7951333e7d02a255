// CPU matmul: fixed output tiles, one single-threaded OpenBLAS call per tile (see kernels/matmul.hpp):
// up to 256 x 256, smaller only to make at least 16 of them; small outputs of long products split k.
#include <cblas.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "kernels/matmul.hpp"

namespace tg {

namespace {
constexpr std::int64_t kMaxTile = 256, kMinTile = 64, kMinTiles = 16;
// Split-K for small outputs of long products (weight gradients: din x dout over every row of a
// batch): fixed chunks of k, one BLAS call each on the whole output, partial sums added in chunk order.
constexpr std::int64_t kSplitK = 4096, kSplitMaxOutput = 512 * 512;

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
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  if (k >= 2 * kSplitK && m * n <= kSplitMaxOutput) {
    // Each chunk's panels are packed once (tiles of the output would each repack their panels of the
    // whole k). Chunks depend on k only, and the sum runs in chunk order: the same bits for any thread
    // count.
    const std::int64_t chunks = (k + kSplitK - 1) / kSplitK, mn = m * n;
    std::vector<T> part(static_cast<std::size_t>(chunks * mn));
    tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t ch) {
      const std::int64_t k0 = ch * kSplitK, kk = std::min(kSplitK, k - k0);
      const T* ap = trans_a ? a + k0 * lda : a + k0;  // columns k0.. of op(A)
      const T* bp = trans_b ? b + k0 : b + k0 * ldb;  // rows k0.. of op(B)
      gemm_call(ta, tb, m, n, kk, alpha, ap, lda, bp, ldb, T(0), part.data() + ch * mn, n);
    });
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, m, 16), [&](const auto& r) {
      for (std::int64_t i = r.begin(); i < r.end(); ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          T acc = beta == T(0) ? T(0) : beta * c[i * ldc + j];
          for (std::int64_t ch = 0; ch < chunks; ++ch) acc += part[static_cast<std::size_t>(ch * mn + i * n + j)];
          c[i * ldc + j] = acc;
        }
    });
    return;
  }
  // Tiles as large as possible (each OpenBLAS call repacks its panels, so small tiles of a tall
  // product repack B over and over), halved until there are enough of them to share among threads.
  // The shape depends on (m, n) only, never on the thread count: results are identical for any.
  std::int64_t bm = std::min<std::int64_t>(m, kMaxTile), bn = std::min<std::int64_t>(n, kMaxTile);
  auto tiles = [&] { return ((m + bm - 1) / bm) * ((n + bn - 1) / bn); };
  while (tiles() < kMinTiles && std::max(bm, bn) > kMinTile) {
    if (bm >= bn)
      bm = (bm + 1) / 2;
    else
      bn = (bn + 1) / 2;
  }
  const std::int64_t tm = (m + bm - 1) / bm, tn = (n + bn - 1) / bn;
  tbb::parallel_for(std::int64_t{0}, tm * tn, [&](std::int64_t t) {
    const std::int64_t i0 = (t / tn) * bm, j0 = (t % tn) * bn;
    const std::int64_t mm = std::min(bm, m - i0), nn = std::min(bn, n - j0);
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
