// Bulk Philox4x32-10 on the CPU (core/rng_bulk.hpp): 16 consecutive blocks at a time, in the widest
// vector form the CPU runs.
#include "core/rng_bulk.hpp"

#include <immintrin.h>

// GCC 12's AVX-512 headers initialise their "undefined" vectors from themselves, which -Wuninitialized
// reports at every inlined intrinsic (GCC bug 105593); nothing here reads an undefined value.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace tg {

// The scalar rounds in structure-of-arrays form (any CPU).
void philox16_generic(const counter_rng& rng, std::uint64_t first, std::uint32_t* out) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  std::uint32_t v0[16], v1[16], v2[16], v3[16];
  for (int j = 0; j < 16; ++j) {
    const std::uint64_t pos = first + static_cast<std::uint64_t>(j);
    v0[j] = static_cast<std::uint32_t>(pos);
    v1[j] = static_cast<std::uint32_t>(pos >> 32);
    v2[j] = rng.stream0();
    v3[j] = rng.stream1();
  }
  std::uint32_t k0 = rng.key0(), k1 = rng.key1();
  for (int r = 0; r < 10; ++r) {
    for (int j = 0; j < 16; ++j) {
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
  for (int j = 0; j < 16; ++j) {
    out[4 * j] = v0[j];
    out[4 * j + 1] = v1[j];
    out[4 * j + 2] = v2[j];
    out[4 * j + 3] = v3[j];
  }
}

// The same 16 blocks with AVX-512 intrinsics: each round's two 32 x 32 -> 64-bit products per block
// as two vpmuludq (even and odd lanes) per multiplier, their high and low halves blended back into
// lanes. Integer operations only: the same bits as the scalar rounds.
__attribute__((target("avx512f"))) void philox16_avx512(const counter_rng& rng, std::uint64_t first,
                                                        std::uint32_t* out) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  // Counters first + j, split into low and high words.
  alignas(64) std::uint32_t lo[16], hi[16];
  for (int j = 0; j < 16; ++j) {
    const std::uint64_t c = first + static_cast<std::uint64_t>(j);
    lo[j] = static_cast<std::uint32_t>(c);
    hi[j] = static_cast<std::uint32_t>(c >> 32);
  }
  __m512i v0 = _mm512_load_si512(lo);
  __m512i v1 = _mm512_load_si512(hi);
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
__attribute__((target("avx2"))) void philox16_avx2(const counter_rng& rng, std::uint64_t first, std::uint32_t* out) {
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

bool philox16_avx512_usable() {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512;
}
bool philox16_avx2_usable() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}

// philox_lanes: the widest vector form the CPU runs (same bits in every form).
void philox16(const counter_rng& rng, std::uint64_t first, std::uint32_t* out) {
  if (philox16_avx512_usable())
    philox16_avx512(rng, first, out);
  else if (philox16_avx2_usable())
    philox16_avx2(rng, first, out);
  else
    philox16_generic(rng, first, out);
}

}  // namespace tg
