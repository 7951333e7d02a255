#pragma once
// Dense matrix products through BLAS (OpenBLAS), row-major:
//   C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C
// The output is cut into fixed tiles (up to 256 x 256, halved until there are at least 16), each
// computed by one single-threaded BLAS call, and the tiles run in parallel (oneTBB). A small output
// of a long product (m * n <= 512^2, k >= 8192: the weight gradients) is computed instead as partial
// products over fixed chunks of 4096 of k, one BLAS call each, added in chunk order. Tiles and
// chunks depend on the shapes only, never on the thread count, so every element is computed by the
// same calls in the same order whatever the number of threads: results are bitwise reproducible
// across thread counts.
#include <cstdint>

namespace tg {

template <typename T>
void matmul(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

}  // namespace tg
