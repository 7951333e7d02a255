#pragma once
// Bulk Philox4x32-10 on the CPU: 16 consecutive blocks of a counter_rng (core/rng.hpp) at once, for
// the kernels that draw many (the dropout masks, kernels/cpu/elementwise.cpp). out[4 j + w] =
// rng.block(first + j).v[w], j < 16: the same bits as the scalar rng.block(), in every form. Compilers
// keep the scalar rounds' 32 x 32 -> 64-bit products scalar even in vector clones, so the AVX-512 and
// AVX2 forms are written with intrinsics; philox16 picks the widest the CPU runs (the generic form
// on others). Host only.
#include <cstdint>

#include "core/rng.hpp"

namespace tg {

inline constexpr int kPhiloxBulk = 16;  // blocks per call

void philox16(const counter_rng& rng, std::uint64_t first, std::uint32_t* out);
// The individual forms (tests compare them); the AVX ones only where *_usable() says so.
void philox16_generic(const counter_rng& rng, std::uint64_t first, std::uint32_t* out);
void philox16_avx2(const counter_rng& rng, std::uint64_t first, std::uint32_t* out);
void philox16_avx512(const counter_rng& rng, std::uint64_t first, std::uint32_t* out);
bool philox16_avx2_usable();
bool philox16_avx512_usable();

}  // namespace tg
