#pragma once
// Dense matrix products, row-major:
//   C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C
//
// float (what the layers use) runs tiergnn's own kernels, AVX-512 or AVX2+FMA (chosen at run time):
// every element of C is one chain of fused multiply-adds over k in increasing order, starting from 0
// (beta = 0) or from C (beta = 1), so both kernels give the same bits for any tiling, thread count
// and machine. A small output of a long product (m * n <= 512^2, k >= 8192: the weight gradients)
// is computed as partial products over fixed chunks of 4096 of k, added in chunk order (the chunks
// depend on k only). Other alpha / beta: the product first, then alpha * P + beta * C.
//
// double, and float on CPUs without AVX2+FMA, go through OpenBLAS: the output is cut into fixed tiles
// (up to 256 x 256, halved until there are at least 16), one single-threaded BLAS call each, and the
// same split-K for weight gradients; results are bitwise reproducible across thread counts (not
// across machines: OpenBLAS picks its kernel for the CPU).
#include <cstdint>

namespace tg {

template <typename T>
void matmul(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

// C = op(A1) op(B1) + op(A2) op(B2) + beta C (alpha 1, the same transposes for both terms): exactly
// matmul(A1, B1, beta) then matmul(A2, B2, 1), bit for bit, but with tiergnn's float kernels in one
// pass over C (each tile of C takes both products while it is in cache) where neither product is a
// split-k one. GraphSAGE's forward: y = x_dst W_self + agg W_neigh.
template <typename T>
void matmul_sum2(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k1, const T* a1,
                 std::int64_t lda1, const T* b1, std::int64_t ldb1, std::int64_t k2, const T* a2, std::int64_t lda2,
                 const T* b2, std::int64_t ldb2, T beta, T* c, std::int64_t ldc);

// Which kernel matmul<float> runs: automatic (the widest the CPU has), or one forced (tests and
// benchmarks). set_matmul_kernel returns false, changing nothing, when the CPU lacks it.
enum class matmul_kernel { automatic, avx512, avx2, blas };
bool set_matmul_kernel(matmul_kernel kind);
matmul_kernel active_matmul_kernel();

}  // namespace tg
