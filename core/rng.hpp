#pragma once
// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC'11). A draw is a pure function of (key, counter), so the value for a given
// (seed, epoch, batch, node, draw) is the same whatever thread or device computes it, and the CPU
// and CUDA backends produce identical streams. Usable in device code (TG_HD).
#include <cstdint>

#include "core/hd.hpp"

namespace tg {

struct philox_ctr {
  std::uint32_t v[4];
};

TG_HD std::uint32_t mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t* hi) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  *hi = static_cast<std::uint32_t>(p >> 32);
  return static_cast<std::uint32_t>(p);
}

// Philox4x32 with 10 rounds.
TG_HD philox_ctr philox4x32(philox_ctr ctr, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    std::uint32_t hi0, hi1;
    const std::uint32_t lo0 = mulhilo32(M0, ctr.v[0], &hi0);
    const std::uint32_t lo1 = mulhilo32(M1, ctr.v[2], &hi1);
    ctr = philox_ctr{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

// A stream keyed by a 64-bit seed and a 64-bit stream id (e.g. hash of epoch/batch), indexed by a
// 64-bit position. Each call to block() yields four 32-bit values.
class counter_rng {
 public:
  TG_HD counter_rng(std::uint64_t seed, std::uint64_t stream)
      : k0_(static_cast<std::uint32_t>(seed)),
        k1_(static_cast<std::uint32_t>(seed >> 32)),
        s0_(static_cast<std::uint32_t>(stream)),
        s1_(static_cast<std::uint32_t>(stream >> 32)) {}

  TG_HD philox_ctr block(std::uint64_t position) const {
    return philox4x32(
        philox_ctr{{static_cast<std::uint32_t>(position), static_cast<std::uint32_t>(position >> 32), s0_, s1_}}, k0_,
        k1_);
  }
  // 32 random bits, four to a Philox block: word i is word i % 4 of block i / 4 (bulk draws pay one
  // block per four words; dropout masks split each word into two 16-bit draws, kernels/elementwise.hpp).
  TG_HD std::uint32_t word(std::uint64_t i) const { return block(i >> 2).v[i & 3]; }
  // 64 random bits at `position`.
  TG_HD std::uint64_t u64(std::uint64_t position) const {
    const philox_ctr c = block(position);
    return (static_cast<std::uint64_t>(c.v[0]) << 32) | c.v[1];
  }
  // Uniform double in [0, 1) with 53 random bits.
  TG_HD double uniform(std::uint64_t position) const {
    return static_cast<double>(u64(position) >> 11) * (1.0 / 9007199254740992.0);
  }
  // Uniform integer in [0, n) (Lemire's multiply-shift on 64 bits; bias < n / 2^64).
  TG_HD std::uint64_t below(std::uint64_t position, std::uint64_t n) const {
    const std::uint64_t x = u64(position);
#if defined(__CUDA_ARCH__)
    return __umul64hi(x, n);
#else
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(x) * n) >> 64);
#endif
  }
  // Standard normal (Box-Muller on the two 32-bit halves pairs of one block).
  TG_HD float normal(std::uint64_t position) const;
  // The key and stream words (bulk generators that compute many blocks at once need them).
  TG_HD std::uint32_t key0() const {
    return k0_;
  }
  TG_HD std::uint32_t key1() const {
    return k1_;
  }
  TG_HD std::uint32_t stream0() const {
    return s0_;
  }
  TG_HD std::uint32_t stream1() const {
    return s1_;
  }

 private:
  std::uint32_t k0_, k1_, s0_, s1_;
};

// Mixes several counters into one 64-bit stream id (splitmix64 finaliser chain).
TG_HD std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
TG_HD std::uint64_t stream_id(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) {
  return mix64(mix64(mix64(a) ^ b) ^ c);
}

}  // namespace tg

#include <cmath>

namespace tg {
TG_HD float counter_rng::normal(std::uint64_t position) const {
  const philox_ctr c = block(position);
  const double u1 = (static_cast<double>(c.v[0]) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]
  const double u2 = static_cast<double>(c.v[1]) * (1.0 / 4294967296.0);
  return static_cast<float>(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
}  // namespace tg
