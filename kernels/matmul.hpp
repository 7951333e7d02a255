#pragma once
// Dense matrix products through BLAS (OpenBLAS), row-major:
//   C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C
// The output is cut into fixed 128 x 128 tiles, each computed by one single-threaded BLAS call,
// and the tiles run in parallel (oneTBB). Tile sizes never depend on the thread count, so every
// element is computed by the same BLAS call whatever the number of threads: results are bitwise
// reproducible across thread counts.
#include <cstdint>

namespace tg {

template <typename T>
void matmul(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

}  // namespace tg
