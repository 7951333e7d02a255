// CPU element-wise kernels (see kernels/elementwise.hpp).
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/elementwise.hpp"

namespace tg {

namespace {
constexpr std::int64_t kGrain = 1 << 14;
constexpr std::int64_t kRowChunk = 256;
constexpr int kLanes = 16;  // Philox blocks computed together

// v where keep, else +0, with an AND of the bit patterns instead of a branch (GCC keeps a branch for
// the plain ?:, and the loop then runs one element at a time).
template <typename T>
inline T masked(T v, bool keep) {
  using bits_t = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  bits_t b;
  std::memcpy(&b, &v, sizeof b);
  b &= static_cast<bits_t>(0) - static_cast<bits_t>(keep);
  std::memcpy(&v, &b, sizeof b);
  return v;
}

}  // namespace

namespace detail {

// Philox4x32-10 (core/rng.hpp) of the kLanes consecutive blocks first .. first + kLanes - 1 of `rng`,
// in structure-of-arrays form (the same bits as rng.block()). out[4 j + w] = word w of block j, i.e.
// rng.word(4 first + i) = out[i]. Compilers keep this form's 32 x 32 -> 64-bit products scalar;
// philox_lanes_avx512 below is the vector form, used where the CPU has AVX-512.
void philox_lanes_generic(const counter_rng& rng, std::uint64_t first, std::uint32_t* out) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  std::uint32_t v0[kLanes], v1[kLanes], v2[kLanes], v3[kLanes];
  for (int j = 0; j < kLanes; ++j) {
    const std::uint64_t pos = first + static_cast<std::uint64_t>(j);
    v0[j] = static_cast<std::uint32_t>(pos);
    v1[j] = static_cast<std::uint32_t>(pos >> 32);
    v2[j] = rng.stream0();
    v3[j] = rng.stream1();
  }
  std::uint32_t k0 = rng.key0(), k1 = rng.key1();
  for (int r = 0; r < 10; ++r) {
    for (int j = 0; j < kLanes; ++j) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(M0) * v0[j], p1 = static_cast<std::uint64_t>(M1) * v2[j];
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ v1[j] ^ k0;
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ v3[j] ^ k1;
      v1[j] = static_cast<std::uint32_t>(p1);
      v3[j] = static_cast<std::uint32_t>(p0);
      v0[j] = n0;
      v2[j] = n2;
    }
    k0 += W0;
    k1 += W1;
  }
  for (int j = 0; j < kLanes; ++j) {
    out[4 * j] = v0[j];
    out[4 * j + 1] = v1[j];
    out[4 * j + 2] = v2[j];
    out[4 * j + 3] = v3[j];
  }
}

static_assert(kLanes == 16, "philox_lanes_avx512 computes 16 blocks, one per 32-bit lane of a zmm register");

// The same 16 blocks with AVX-512 intrinsics: each round's two 32 x 32 -> 64-bit products per block
// as two vpmuludq (even and odd lanes) per multiplier, their high and low halves blended back into
// lanes. Integer operations only: the same bits as the scalar rounds.
__attribute__((target("avx512f"))) void philox_lanes_avx512(const counter_rng& rng, std::uint64_t first,
                                                            std::uint32_t* out) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  // Counters first + j: the 64-bit values of lanes 0-7 and 8-15, split into low and high words.
  const __m512i step = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i c_lo = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(first)), step);
  const __m512i c_hi = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(first + 8)), step);
  __m512i v0 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(c_lo)), _mm512_cvtepi64_epi32(c_hi), 1);
  __m512i v1 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(_mm512_srli_epi64(c_lo, 32))),
                                  _mm512_cvtepi64_epi32(_mm512_srli_epi64(c_hi, 32)), 1);
  __m512i v2 = _mm512_set1_epi32(static_cast<int>(rng.stream0()));
  __m512i v3 = _mm512_set1_epi32(static_cast<int>(rng.stream1()));
  const __m512i m0 = _mm512_set1_epi64(M0), m1 = _mm512_set1_epi64(M1);
  constexpr __mmask16 kOdd = 0xAAAA;
  std::uint32_t k0 = rng.key0(), k1 = rng.key1();
  for (int r = 0; r < 10; ++r) {
    // p = M * v per 32-bit lane: even lanes from the low words of each 64-bit pair, odd lanes from the high.
    const __m512i pe0 = _mm512_mul_epu32(v0, m0), po0 = _mm512_mul_epu32(_mm512_srli_epi64(v0, 32), m0);
    const __m512i pe1 = _mm512_mul_epu32(v2, m1), po1 = _mm512_mul_epu32(_mm512_srli_epi64(v2, 32), m1);
    const __m512i hi0 = _mm512_mask_blend_epi32(kOdd, _mm512_srli_epi64(pe0, 32), po0);
    const __m512i lo0 = _mm512_mask_blend_epi32(kOdd, pe0, _mm512_slli_epi64(po0, 32));
    const __m512i hi1 = _mm512_mask_blend_epi32(kOdd, _mm512_srli_epi64(pe1, 32), po1);
    const __m512i lo1 = _mm512_mask_blend_epi32(kOdd, pe1, _mm512_slli_epi64(po1, 32));
    v0 = _mm512_xor_si512(_mm512_xor_si512(hi1, v1), _mm512_set1_epi32(static_cast<int>(k0)));
    v2 = _mm512_xor_si512(_mm512_xor_si512(hi0, v3), _mm512_set1_epi32(static_cast<int>(k1)));
    v1 = lo1;
    v3 = lo0;
    k0 += W0;
    k1 += W1;
  }
  alignas(64) std::uint32_t w[4][16];
  _mm512_store_si512(w[0], v0);
  _mm512_store_si512(w[1], v1);
  _mm512_store_si512(w[2], v2);
  _mm512_store_si512(w[3], v3);
  for (int j = 0; j < 16; ++j)
    for (int q = 0; q < 4; ++q) out[4 * j + q] = w[q][j];
}

// The same with AVX2: two halves of 8 blocks, 8 32-bit lanes of a ymm register each.
__attribute__((target("avx2"))) void philox_lanes_avx2(const counter_rng& rng, std::uint64_t first,
                                                       std::uint32_t* out) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  const __m256i m0 = _mm256_set1_epi64x(M0), m1 = _mm256_set1_epi64x(M1);
  for (int half = 0; half < 2; ++half) {
    std::uint32_t lo[8], hi[8];
    for (int j = 0; j < 8; ++j) {
      const std::uint64_t c = first + static_cast<std::uint64_t>(8 * half + j);
      lo[j] = static_cast<std::uint32_t>(c);
      hi[j] = static_cast<std::uint32_t>(c >> 32);
    }
    __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo));
    __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi));
    __m256i v2 = _mm256_set1_epi32(static_cast<int>(rng.stream0()));
    __m256i v3 = _mm256_set1_epi32(static_cast<int>(rng.stream1()));
    std::uint32_t k0 = rng.key0(), k1 = rng.key1();
    for (int r = 0; r < 10; ++r) {
      const __m256i pe0 = _mm256_mul_epu32(v0, m0), po0 = _mm256_mul_epu32(_mm256_srli_epi64(v0, 32), m0);
      const __m256i pe1 = _mm256_mul_epu32(v2, m1), po1 = _mm256_mul_epu32(_mm256_srli_epi64(v2, 32), m1);
      const __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(pe0, 32), po0, 0xAA);
      const __m256i lo0 = _mm256_blend_epi32(pe0, _mm256_slli_epi64(po0, 32), 0xAA);
      const __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(pe1, 32), po1, 0xAA);
      const __m256i lo1 = _mm256_blend_epi32(pe1, _mm256_slli_epi64(po1, 32), 0xAA);
      v0 = _mm256_xor_si256(_mm256_xor_si256(hi1, v1), _mm256_set1_epi32(static_cast<int>(k0)));
      v2 = _mm256_xor_si256(_mm256_xor_si256(hi0, v3), _mm256_set1_epi32(static_cast<int>(k1)));
      v1 = lo1;
      v3 = lo0;
      k0 += W0;
      k1 += W1;
    }
    alignas(32) std::uint32_t w[4][8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(w[0]), v0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(w[1]), v1);
    _mm256_store_si256(reinterpret_cast<__m256i*>(w[2]), v2);
    _mm256_store_si256(reinterpret_cast<__m256i*>(w[3]), v3);
    for (int j = 0; j < 8; ++j)
      for (int q = 0; q < 4; ++q) out[4 * (8 * half + j) + q] = w[q][j];
  }
}

bool philox_avx512_usable() {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512;
}
bool philox_avx2_usable() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}

// philox_lanes: the widest vector form the CPU runs (same bits in every form).
void philox_lanes(const counter_rng& rng, std::uint64_t first, std::uint32_t* out) {
  if (philox_avx512_usable())
    philox_lanes_avx512(rng, first, out);
  else if (philox_avx2_usable())
    philox_lanes_avx2(rng, first, out);
  else
    philox_lanes_generic(rng, first, out);
}

}  // namespace detail

namespace {
using detail::philox_lanes;

// Dropout of one group of kPerGroup = 8 kLanes elements (m of them; fewer at the end) from its
// kLanes Philox blocks w: element k keeps its value times sc when its 16-bit draw is >= th.
constexpr std::int64_t kPerGroup = 8 * kLanes;
template <typename T>
inline void drop_group(T* xs, std::int64_t m, const std::uint32_t* w, T sc, std::uint32_t th) {
  if (m == kPerGroup) {
    for (std::int64_t q = 0; q < 4 * kLanes; ++q) {
      xs[2 * q] = masked(xs[2 * q] * sc, (w[q] & 0xFFFFu) >= th);
      xs[2 * q + 1] = masked(xs[2 * q + 1] * sc, (w[q] >> 16) >= th);
    }
  } else {
    for (std::int64_t k = 0; k < m; ++k) xs[k] = masked(xs[k] * sc, ((w[k >> 1] >> (16 * (k & 1))) & 0xFFFFu) >= th);
  }
}
}  // namespace

template <typename T>
void bias_forward(T* y, std::int64_t rows, std::int64_t cols, const T* b) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 64), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i)
      for (std::int64_t j = 0; j < cols; ++j) y[i * cols + j] += b[j];
  });
}

template <typename T>
void bias_backward(const T* dy, std::int64_t rows, std::int64_t cols, T* db) {
  const std::int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<T> partial(static_cast<std::size_t>(chunks * cols), T(0));
  tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t c) {
    T* p = partial.data() + c * cols;
    const std::int64_t end = std::min(rows, (c + 1) * kRowChunk);
    for (std::int64_t i = c * kRowChunk; i < end; ++i)
      for (std::int64_t j = 0; j < cols; ++j) p[j] += dy[i * cols + j];
  });
  std::fill(db, db + cols, T(0));
  for (std::int64_t c = 0; c < chunks; ++c)
    for (std::int64_t j = 0; j < cols; ++j) db[j] += partial[c * cols + j];
}

template <typename T>
void relu_forward(T* x, std::int64_t n) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i) x[i] = masked(x[i], !(x[i] < T(0)));  // NaN stays NaN
  });
}

template <typename T>
void relu_backward(const T* y, T* dy, std::int64_t n, T scale) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const auto& r) {
    if (scale == T(1)) {
      for (std::int64_t i = r.begin(); i < r.end(); ++i) dy[i] = masked(dy[i], y[i] > T(0));
    } else {
      const T sc = scale;
      for (std::int64_t i = r.begin(); i < r.end(); ++i) dy[i] = masked(dy[i] * sc, y[i] > T(0));
    }
  });
}

template <typename T>
void dropout_forward(T* x, std::int64_t n, double p, const counter_rng& rng) {
  if (p <= 0) return;
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  const std::uint32_t threshold = dropout_threshold(p);
  // One Philox block per eight elements (two 16-bit draws per word, dropout_draw), kLanes blocks at
  // a time, in fixed chunks.
  const std::int64_t groups = (n + kPerGroup - 1) / kPerGroup;
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, groups, kGrain / kPerGroup), [&](const auto& r) {
    std::uint32_t w[4 * kLanes];
    for (std::int64_t gi = r.begin(); gi < r.end(); ++gi) {
      philox_lanes(rng, static_cast<std::uint64_t>(gi * kLanes), w);
      const std::int64_t i0 = gi * kPerGroup, m = std::min<std::int64_t>(kPerGroup, n - i0);
      T* xs = x + i0;
      drop_group(xs, m, w, scale, threshold);
    }
  });
}

template <typename T>
void dropout_backward(T* dx, std::int64_t n, double p, const counter_rng& rng) {
  dropout_forward(dx, n, p, rng);
}

template <typename T>
void bias_relu_dropout(T* y, std::int64_t rows, std::int64_t cols, const T* b, double p, const counter_rng& rng) {
  const std::int64_t n = rows * cols;
  if (n <= 0) return;
  const bool drop = p > 0;
  const T scale = drop ? static_cast<T>(1.0 / (1.0 - p)) : T(1);
  const std::uint32_t threshold = drop ? dropout_threshold(p) : 0;
  // The groups of dropout_forward (kLanes Philox blocks, eight elements each), so the draws match.
  const std::int64_t groups = (n + kPerGroup - 1) / kPerGroup;
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, groups, kGrain / kPerGroup), [&](const auto& r) {
    std::uint32_t w[4 * kLanes];
    for (std::int64_t gi = r.begin(); gi < r.end(); ++gi) {
      const std::int64_t i0 = gi * kPerGroup, m = std::min<std::int64_t>(kPerGroup, n - i0);
      T* xs = y + i0;
      const std::int64_t j0 = i0 % cols;
      if (j0 + m <= cols) {  // one row's stretch of columns (every group when cols is a multiple of 128)
        const T* bj = b + j0;
        for (std::int64_t k = 0; k < m; ++k) {
          const T v = xs[k] + bj[k];
          xs[k] = masked(v, !(v < T(0)));
        }
      } else {
        std::int64_t j = j0;
        for (std::int64_t k = 0; k < m; ++k) {
          const T v = xs[k] + b[j];
          xs[k] = masked(v, !(v < T(0)));
          if (++j == cols) j = 0;
        }
      }
      if (!drop) continue;
      philox_lanes(rng, static_cast<std::uint64_t>(gi * kLanes), w);
      drop_group(xs, m, w, scale, threshold);
    }
  });
}

template <typename T>
void relu_bias_backward(const T* y, T* dy, std::int64_t rows, std::int64_t cols, T scale, T* db) {
  // bias_backward's chunks and order of sums, with relu_backward's per-element result in the same pass.
  const std::int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<T> partial(static_cast<std::size_t>(chunks * cols), T(0));
  tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t c) {
    T* p = partial.data() + c * cols;
    const std::int64_t end = std::min(rows, (c + 1) * kRowChunk);
    const T sc = scale;
    for (std::int64_t i = c * kRowChunk; i < end; ++i) {
      T* d = dy + i * cols;
      const T* yi = y + i * cols;
      if (sc == T(1)) {
        for (std::int64_t j = 0; j < cols; ++j) {
          d[j] = masked(d[j], yi[j] > T(0));
          p[j] += d[j];
        }
      } else {
        for (std::int64_t j = 0; j < cols; ++j) {
          d[j] = masked(d[j] * sc, yi[j] > T(0));
          p[j] += d[j];
        }
      }
    }
  });
  std::fill(db, db + cols, T(0));
  for (std::int64_t c = 0; c < chunks; ++c)
    for (std::int64_t j = 0; j < cols; ++j) db[j] += partial[c * cols + j];
}

#define TG_INSTANTIATE(T)                                                                                   \
  template void bias_forward<T>(T*, std::int64_t, std::int64_t, const T*);                                  \
  template void bias_backward<T>(const T*, std::int64_t, std::int64_t, T*);                                 \
  template void relu_forward<T>(T*, std::int64_t);                                                          \
  template void relu_backward<T>(const T*, T*, std::int64_t, T);                                            \
  template void dropout_forward<T>(T*, std::int64_t, double, const counter_rng&);                           \
  template void dropout_backward<T>(T*, std::int64_t, double, const counter_rng&);                          \
  template void bias_relu_dropout<T>(T*, std::int64_t, std::int64_t, const T*, double, const counter_rng&); \
  template void relu_bias_backward<T>(const T*, T*, std::int64_t, std::int64_t, T, T*);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

}  // namespace tg
