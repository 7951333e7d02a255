// CPU matmul (see kernels/matmul.hpp).
//
// float: tiergnn's own kernels, AVX-512 or AVX2+FMA, chosen at run time. Every element of C is one
// fused multiply-add chain over k in increasing order, starting from 0 (beta = 0) or from C
// (beta = 1): fma(a[i,k-1], b[k-1,j], ... fma(a[i,0], b[0,j], start)). FMA rounds exactly, so both
// kernels give the same bits, whatever the tiling, thread count or machine. op(B) is packed into
// panels of NR columns (zero-padded) once per product (or per chunk of k); op(A) is read in place
// (broadcasts of its elements, through strides: transposed or not costs the same), so nothing of A
// is copied. A register tile of MR x NR accumulators (12 x 32 with AVX-512, 6 x 16 with AVX2) runs
// over k in blocks of kKc, storing and reloading its accumulators in C between blocks (exact).
// Weight gradients (small output, long k) are split into fixed chunks of 4096 of k, one partial
// product each, summed in chunk order: shape-dependent only, so also the same bits everywhere.
//
// double, and float on CPUs without AVX2+FMA: fixed output tiles, one single-threaded OpenBLAS call
// per tile (bits then depend on OpenBLAS's kernel for the machine, never on the thread count).
#include <cblas.h>
#include <immintrin.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "kernels/matmul.hpp"

namespace tg {

namespace {
constexpr std::int64_t kMaxTile = 256, kMinTile = 64, kMinTiles = 16;
// Split-K for small outputs of long products (weight gradients: din x dout over every row of a
// batch): fixed chunks of k, one partial product each on the whole output, added in chunk order.
constexpr std::int64_t kSplitK = 4096, kSplitMaxOutput = 512 * 512;
bool split_k(std::int64_t m, std::int64_t n, std::int64_t k) {
  return k >= 2 * kSplitK && m * n <= kSplitMaxOutput;
}

// C = (beta C +) the chunks' partial products (chunks x m x n, dense), added in chunk order.
template <typename T>
void add_chunk_partials(const T* part, std::int64_t chunks, std::int64_t m, std::int64_t n, T beta, T* c,
                        std::int64_t ldc) {
  const std::int64_t mn = m * n;
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, m, 16), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        T acc = beta == T(0) ? T(0) : beta * c[i * ldc + j];
        for (std::int64_t ch = 0; ch < chunks; ++ch) acc += part[ch * mn + i * n + j];
        c[i * ldc + j] = acc;
      }
  });
}

// ---------------------------------------------------------------------------------------------
// OpenBLAS path.

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

template <typename T>
void matmul_blas(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                 std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  blas_single_threaded();
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  if (split_k(m, n, k)) {
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
    add_chunk_partials(part.data(), chunks, m, n, beta, c, ldc);
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

// ---------------------------------------------------------------------------------------------
// tiergnn's float kernels.

constexpr std::int64_t kKc = 256;         // k per register-tile pass (A and B slices stay in L1/L2)
constexpr std::int64_t kPackRows = 4096;  // k per packing of op(B) in the tiled path (bounds its buffer)
constexpr std::int64_t kTaskRows = 192;   // rows of C per task (a multiple of both MRs)
constexpr std::int64_t kTaskPanels = 4;   // panels of C per task

// One register tile: C[0..mr) x [0..ncols) (+)= A[0..mr) x [0..kc) * Bp, with A(i, p) = a[i*rs + p*cs]
// and Bp kc rows of nr floats, ldbp apart (nr when packed; B's own row stride when read in place,
// only for whole panels). `from_c`: the chains start from C (else from 0).
using micro_fn = void (*)(int mr, const float* a, std::int64_t rs, std::int64_t cs, const float* bp, std::int64_t ldbp,
                          std::int64_t kc, float* c, std::int64_t ldc, int ncols, bool from_c);

__attribute__((target("avx512f"))) inline __mmask16 mask16(int cols) {
  return cols >= 16 ? __mmask16(0xffff) : cols <= 0 ? __mmask16(0) : __mmask16((1u << cols) - 1u);
}

template <int MR>
__attribute__((target("avx512f,fma,prfchw"))) void tile_avx512(const float* a, std::int64_t rs, std::int64_t cs,
                                                               const float* bp, std::int64_t ldbp, std::int64_t kc,
                                                               float* c, std::int64_t ldc, int ncols, bool from_c) {
  const __mmask16 m0 = mask16(ncols), m1 = mask16(ncols - 16);
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (from_c) {
      c0[r] = _mm512_maskz_loadu_ps(m0, c + r * ldc);
      c1[r] = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);
    } else {
      c0[r] = _mm512_setzero_ps();
      c1[r] = _mm512_setzero_ps();
    }
  }
  for (std::int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(bp + p * ldbp), b1 = _mm512_loadu_ps(bp + p * ldbp + 16);
    const float* ap = a + p * cs;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(ap[r * rs]);
      c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, c0[r]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, c1[r]);
  }
}

template <int... R>
void micro_avx512_impl(std::integer_sequence<int, R...>, int mr, const float* a, std::int64_t rs, std::int64_t cs,
                       const float* bp, std::int64_t ldbp, std::int64_t kc, float* c, std::int64_t ldc, int ncols,
                       bool from_c) {
  using fn = void (*)(const float*, std::int64_t, std::int64_t, const float*, std::int64_t, std::int64_t, float*,
                      std::int64_t, int, bool);
  static constexpr fn table[] = {&tile_avx512<R + 1>...};
  table[mr - 1](a, rs, cs, bp, ldbp, kc, c, ldc, ncols, from_c);
}
void micro_avx512(int mr, const float* a, std::int64_t rs, std::int64_t cs, const float* bp, std::int64_t ldbp,
                  std::int64_t kc, float* c, std::int64_t ldc, int ncols, bool from_c) {
  micro_avx512_impl(std::make_integer_sequence<int, 12>{}, mr, a, rs, cs, bp, ldbp, kc, c, ldc, ncols, from_c);
}

__attribute__((target("avx2"))) inline __m256i mask8(int cols) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), idx);
}

template <int MR>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* a, std::int64_t rs, std::int64_t cs, const float* bp,
                                                   std::int64_t ldbp, std::int64_t kc, float* c, std::int64_t ldc,
                                                   int ncols, bool from_c) {
  const __m256i m0 = mask8(ncols), m1 = mask8(ncols - 8);
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (from_c) {
      c0[r] = _mm256_maskload_ps(c + r * ldc, m0);
      c1[r] = _mm256_maskload_ps(c + r * ldc + 8, m1);
    } else {
      c0[r] = _mm256_setzero_ps();
      c1[r] = _mm256_setzero_ps();
    }
  }
  for (std::int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(bp + p * ldbp), b1 = _mm256_loadu_ps(bp + p * ldbp + 8);
    const float* ap = a + p * cs;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(ap + r * rs);
      c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm256_maskstore_ps(c + r * ldc, m0, c0[r]);
    _mm256_maskstore_ps(c + r * ldc + 8, m1, c1[r]);
  }
}

template <int... R>
void micro_avx2_impl(std::integer_sequence<int, R...>, int mr, const float* a, std::int64_t rs, std::int64_t cs,
                     const float* bp, std::int64_t ldbp, std::int64_t kc, float* c, std::int64_t ldc, int ncols,
                     bool from_c) {
  using fn = void (*)(const float*, std::int64_t, std::int64_t, const float*, std::int64_t, std::int64_t, float*,
                      std::int64_t, int, bool);
  static constexpr fn table[] = {&tile_avx2<R + 1>...};
  table[mr - 1](a, rs, cs, bp, ldbp, kc, c, ldc, ncols, from_c);
}
void micro_avx2(int mr, const float* a, std::int64_t rs, std::int64_t cs, const float* bp, std::int64_t ldbp,
                std::int64_t kc, float* c, std::int64_t ldc, int ncols, bool from_c) {
  micro_avx2_impl(std::make_integer_sequence<int, 6>{}, mr, a, rs, cs, bp, ldbp, kc, c, ldc, ncols, from_c);
}

struct float_kernel {
  int mr, nr;
  micro_fn micro;
};
float_kernel kernel_of(matmul_kernel kind) {
  return kind == matmul_kernel::avx512 ? float_kernel{12, 32, &micro_avx512} : float_kernel{6, 16, &micro_avx2};
}

// Packs rows [p0, p0 + kc) of op(B) (k x n) for panels [q0, q1): panel q holds columns
// [q*nr, q*nr + nr) as kc rows of nr floats, columns past n zero. dst points at panel q0.
void pack_b(bool tb, const float* b, std::int64_t ldb, std::int64_t n, std::int64_t p0, std::int64_t kc, int nr,
            std::int64_t q0, std::int64_t q1, float* dst) {
  for (std::int64_t q = q0; q < q1; ++q) {
    float* out = dst + (q - q0) * kc * nr;
    const std::int64_t j0 = q * nr, w = std::min<std::int64_t>(nr, n - j0);
    if (!tb) {
      for (std::int64_t p = 0; p < kc; ++p) {
        const float* src = b + (p0 + p) * ldb + j0;
        float* row = out + p * nr;
        std::copy(src, src + w, row);
        std::fill(row + w, row + nr, 0.0f);
      }
    } else {  // op(B)(p, j) = b[j * ldb + p]
      if (w < nr) std::fill(out, out + kc * nr, 0.0f);
      for (std::int64_t jj = 0; jj < w; ++jj) {
        const float* src = b + (j0 + jj) * ldb + p0;
        for (std::int64_t p = 0; p < kc; ++p) out[p * nr + jj] = src[p];
      }
    }
  }
}

// The panels of op(B) rows [p0, p0 + kk) a register tile reads: panels below `direct` straight from B
// (row-major, not transposed: panel q at b + p * ldb + q * nr), the others packed (panel q at
// packed + (q - first_packed) * kk * nr, kk rows of nr floats).
struct b_panels {
  const float* b = nullptr;  // at row p0
  std::int64_t ldb = 0, direct = 0;
  const float* packed = nullptr;
  std::int64_t first_packed = 0;
};

// C[rows i0..i1) x panels [q0, q1) (+)= op(A)[rows, p0 .. p0+kk) * op(B)[p0 .. p0+kk, panels].
// `from_c`: every chain starts from C at the first k block.
void run_tiles(const float_kernel& fk, const float* a, std::int64_t rs, std::int64_t cs, std::int64_t i0,
               std::int64_t i1, std::int64_t p0, std::int64_t kk, const b_panels& bp, std::int64_t q0, std::int64_t q1,
               std::int64_t n, float* c, std::int64_t ldc, bool from_c) {
  for (std::int64_t kb = 0; kb < kk; kb += kKc) {
    const std::int64_t kc = std::min(kKc, kk - kb);
    for (std::int64_t q = q0; q < q1; ++q) {
      const bool direct = q < bp.direct;
      const float* panel =
          direct ? bp.b + kb * bp.ldb + q * fk.nr : bp.packed + (q - bp.first_packed) * kk * fk.nr + kb * fk.nr;
      const std::int64_t ldbp = direct ? bp.ldb : fk.nr;
      const std::int64_t j0 = q * fk.nr;
      const int ncols = static_cast<int>(std::min<std::int64_t>(fk.nr, n - j0));
      for (std::int64_t i = i0; i < i1; i += fk.mr) {
        const int mr = static_cast<int>(std::min<std::int64_t>(fk.mr, i1 - i));
        // The next tile's lines of C are fetched while this one computes (it reads or writes them).
        for (std::int64_t r = i + fk.mr; r < std::min(i1, i + 2 * fk.mr); ++r)
          for (std::int64_t j = 0; j < ncols; j += 16) __builtin_prefetch(c + r * ldc + j0 + j, 1, 3);
        fk.micro(mr, a + i * rs + (p0 + kb) * cs, rs, cs, panel, ldbp, kc, c + i * ldc + j0, ldc, ncols,
                 from_c || kb > 0);
      }
    }
  }
}

// A buffer of at least n floats (contents undefined): `buf`, kept for later calls on the same thread,
// up to kScratchKeep floats; larger needs get `once`, the caller's, freed when it returns.
constexpr std::size_t kScratchKeep = std::size_t{16} << 20;  // 64 MiB
float* scratch(std::vector<float>& buf, std::size_t n, std::vector<float>& once) {
  if (n > kScratchKeep) {
    once.resize(n);
    return once.data();
  }
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// One product op(A)[m x k] op(B)[k x n] of a sum.
struct term {
  const float* a;
  std::int64_t lda;
  const float* b;
  std::int64_t ldb, k;
};

// C (+)= the sum of the terms' products, term after term, each over k in order: every element's chain
// runs through the terms' k in turn. op(B) is packed (it is small: the weights), kPackRows of k at a
// time, and shared by all tasks; a task is kTaskRows x kTaskPanels of C and runs every term packed
// in one round, so C's tile stays in cache between the terms (rather than a pass over C for each).
void matmul_tiled(const float_kernel& fk, bool ta, bool tb, std::int64_t m, std::int64_t n, const term* terms,
                  int nterms, bool from_c, float* c, std::int64_t ldc) {
  const std::int64_t nr = fk.nr, panels = (n + nr - 1) / nr;
  const std::int64_t row_tasks = (m + kTaskRows - 1) / kTaskRows;
  const std::int64_t panel_tasks = (panels + kTaskPanels - 1) / kTaskPanels;
  struct pass {
    int t;
    std::int64_t p0, kk, offset;  // rows p0 .. p0 + kk of term t's op(B), packed at offset
  };
  std::vector<pass> passes;
  for (int t = 0; t < nterms; ++t)
    for (std::int64_t p0 = 0; p0 < terms[t].k; p0 += kPackRows)
      passes.push_back({t, p0, std::min(kPackRows, terms[t].k - p0), 0});
  static thread_local std::vector<float> pack_buf;
  std::vector<float> pack_once;
  tbb::this_task_arena::isolate([&] {
    for (std::size_t first = 0; first < passes.size();) {
      // A round: consecutive passes whose packed rows add up to at most 2 kPackRows.
      std::size_t last = first;
      std::int64_t rows = 0;
      while (last < passes.size() && (last == first || rows + passes[last].kk <= 2 * kPackRows)) {
        passes[last].offset = rows * panels * nr;
        rows += passes[last++].kk;
      }
      float* packed = scratch(pack_buf, static_cast<std::size_t>(rows * panels * nr), pack_once);
      tbb::parallel_for(std::size_t{0}, (last - first) * static_cast<std::size_t>(panels), [&](std::size_t u) {
        const pass& ps = passes[first + u / static_cast<std::size_t>(panels)];
        const std::int64_t q = static_cast<std::int64_t>(u % static_cast<std::size_t>(panels));
        const term& tm = terms[ps.t];
        pack_b(tb, tm.b, tm.ldb, n, ps.p0, ps.kk, static_cast<int>(nr), q, q + 1, packed + ps.offset + q * ps.kk * nr);
      });
      tbb::parallel_for(std::int64_t{0}, row_tasks * panel_tasks, [&](std::int64_t task) {
        const std::int64_t i0 = (task / panel_tasks) * kTaskRows, q0 = (task % panel_tasks) * kTaskPanels;
        for (std::size_t x = first; x < last; ++x) {
          const pass& ps = passes[x];
          const term& tm = terms[ps.t];
          const std::int64_t rs = ta ? 1 : tm.lda, cs = ta ? tm.lda : 1;
          const b_panels bp{nullptr, 0, 0, packed + ps.offset, 0};
          run_tiles(fk, tm.a, rs, cs, i0, std::min(m, i0 + kTaskRows), ps.p0, ps.kk, bp, q0,
                    std::min(panels, q0 + kTaskPanels), n, c, ldc, from_c || x > 0);
        }
      });
      first = last;
    }
  });
}

// C = op(A) op(B) (beta 0) or C + op(A) op(B) (beta 1), alpha 1.
void matmul_own(const float_kernel& fk, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k,
                const float* a, std::int64_t lda, const float* b, std::int64_t ldb, bool from_c, float* c,
                std::int64_t ldc) {
  const std::int64_t rs = ta ? 1 : lda, cs = ta ? lda : 1;
  const std::int64_t nr = fk.nr, panels = (n + nr - 1) / nr;
  if (split_k(m, n, k)) {
    // Weight gradients: op(B) is the upstream gradient, read once per row block of the output: whole
    // panels straight from B, only a ragged last one (or a transposed B) packed, per pass of kKc rows.
    const std::int64_t chunks = (k + kSplitK - 1) / kSplitK, mn = m * n;
    const std::int64_t direct = tb ? 0 : n / nr;
    static thread_local std::vector<float> part_buf;
    std::vector<float> part_once;
    float* part = scratch(part_buf, static_cast<std::size_t>(chunks * mn), part_once);
    // isolate: while it waits, this thread runs only these tasks, never another matmul that would
    // reuse its scratch buffers.
    tbb::this_task_arena::isolate([&] {
      tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t ch) {
        const std::int64_t k0 = ch * kSplitK, kk = std::min(kSplitK, k - k0);
        static thread_local std::vector<float> pack_buf;
        std::vector<float> pack_once;
        float* packed = scratch(pack_buf, static_cast<std::size_t>((panels - direct) * kKc * nr), pack_once);
        float* out = part + ch * mn;
        for (std::int64_t kb = 0; kb < kk; kb += kKc) {
          const std::int64_t kc = std::min(kKc, kk - kb);
          if (direct < panels) pack_b(tb, b, ldb, n, k0 + kb, kc, static_cast<int>(nr), direct, panels, packed);
          const b_panels bp{tb ? nullptr : b + (k0 + kb) * ldb, ldb, direct, packed, direct};
          run_tiles(fk, a, rs, cs, 0, m, k0 + kb, kc, bp, 0, panels, n, out, n, kb > 0);
        }
      });
      add_chunk_partials(part, chunks, m, n, from_c ? 1.0f : 0.0f, c, ldc);
    });
    return;
  }
  const term one{a, lda, b, ldb, k};
  matmul_tiled(fk, ta, tb, m, n, &one, 1, from_c, c, ldc);
}

std::atomic<int> g_kernel{static_cast<int>(matmul_kernel::automatic)};

bool cpu_has(matmul_kernel kind) {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  switch (kind) {
    case matmul_kernel::avx512:
      return avx512;
    case matmul_kernel::avx2:
      return avx2;
    default:
      return true;
  }
}

}  // namespace

bool set_matmul_kernel(matmul_kernel kind) {
  if (!cpu_has(kind)) return false;
  g_kernel.store(static_cast<int>(kind));
  return true;
}

matmul_kernel active_matmul_kernel() {
  const auto kind = static_cast<matmul_kernel>(g_kernel.load());
  if (kind != matmul_kernel::automatic) return kind;
  // TIERGNN_MATMUL_KERNEL=avx512|avx2|blas (benchmarks): honoured when the CPU has it.
  static const matmul_kernel from_env = [] {
    const char* v = std::getenv("TIERGNN_MATMUL_KERNEL");
    if (v == nullptr || *v == '\0') return matmul_kernel::automatic;
    const std::string s = v;
    const matmul_kernel k = s == "avx512" ? matmul_kernel::avx512
                            : s == "avx2" ? matmul_kernel::avx2
                            : s == "blas" ? matmul_kernel::blas
                                          : matmul_kernel::automatic;
    if (k == matmul_kernel::automatic)
      log_warn("TIERGNN_MATMUL_KERNEL=", s, " is not one of avx512, avx2, blas: ignored");
    else if (!cpu_has(k))
      log_warn("TIERGNN_MATMUL_KERNEL=", s, ": this CPU lacks it: ignored");
    return cpu_has(k) ? k : matmul_kernel::automatic;
  }();
  if (from_env != matmul_kernel::automatic) return from_env;
  if (cpu_has(matmul_kernel::avx512)) return matmul_kernel::avx512;
  if (cpu_has(matmul_kernel::avx2)) return matmul_kernel::avx2;
  return matmul_kernel::blas;
}

template <typename T>
void matmul(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = beta * C
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    const matmul_kernel kind = active_matmul_kernel();
    if (kind != matmul_kernel::blas) {
      const float_kernel fk = kernel_of(kind);
      if (alpha == 1.0f && (beta == 0.0f || beta == 1.0f)) {
        matmul_own(fk, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta == 1.0f, c, ldc);
        return;
      }
      // Other scalings (not used by the layers): the product first, then C = alpha P + beta C.
      std::vector<float> prod(static_cast<std::size_t>(m * n));
      matmul_own(fk, trans_a, trans_b, m, n, k, a, lda, b, ldb, false, prod.data(), n);
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          const float p = alpha * prod[static_cast<std::size_t>(i * n + j)];
          c[i * ldc + j] = beta == 0.0f ? p : p + beta * c[i * ldc + j];
        }
      return;
    }
  }
  matmul_blas<T>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
void matmul_sum2(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k1, const T* a1,
                 std::int64_t lda1, const T* b1, std::int64_t ldb1, std::int64_t k2, const T* a2, std::int64_t lda2,
                 const T* b2, std::int64_t ldb2, T beta, T* c, std::int64_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    const matmul_kernel kind = active_matmul_kernel();
    if (kind != matmul_kernel::blas && m > 0 && n > 0 && k1 > 0 && k2 > 0 && !split_k(m, n, k1) && !split_k(m, n, k2) &&
        (beta == 0.0f || beta == 1.0f)) {
      const float_kernel fk = kernel_of(kind);
      const term terms[2] = {{a1, lda1, b1, ldb1, k1}, {a2, lda2, b2, ldb2, k2}};
      matmul_tiled(fk, trans_a, trans_b, m, n, terms, 2, beta == 1.0f, c, ldc);
      return;
    }
  }
  matmul<T>(trans_a, trans_b, m, n, k1, T(1), a1, lda1, b1, ldb1, beta, c, ldc);
  matmul<T>(trans_a, trans_b, m, n, k2, T(1), a2, lda2, b2, ldb2, T(1), c, ldc);
}

template void matmul<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                            const float*, std::int64_t, float, float*, std::int64_t);
template void matmul<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*, std::int64_t,
                             const double*, std::int64_t, double, double*, std::int64_t);

template void matmul_sum2<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, const float*, std::int64_t,
                                 const float*, std::int64_t, std::int64_t, const float*, std::int64_t, const float*,
                                 std::int64_t, float, float*, std::int64_t);
template void matmul_sum2<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, const double*, std::int64_t,
                                  const double*, std::int64_t, std::int64_t, const double*, std::int64_t, const double*,
                                  std::int64_t, double, double*, std::int64_t);

}  // namespace tg
