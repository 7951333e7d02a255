#pragma once
// Per-node sampling decisions shared by the CPU and CUDA samplers (TG_HD), so both draw exactly
// the same neighbours for the same (seed, epoch, batch, hop, node).
//
// Uniform sampling without replacement of k = min(fanout, deg) of a node's deg neighbours uses
// Floyd's algorithm (Bentley & Floyd, "A sample of brilliance", CACM 1987): for i = 0..k-1 with
// j = deg - k + i, draw t uniform in [0, j]; take t unless already taken, else take j. Every
// k-subset is equally likely, it needs exactly k draws, and draw i of node v in a hop is the
// Philox value at position (v << 24 | i) of the stream keyed by (seed; epoch, batch, hop).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/hd.hpp"
#include "core/rng.hpp"

namespace tg {

inline constexpr std::int64_t kMaxFanout = (std::int64_t{1} << 24) - 1;
// Up to this k the scan of the positions drawn so far is faster than a hash set (and it is what the
// device runs for any k).
inline constexpr std::int64_t kSmallSelection = 64;

TG_HD std::int64_t sample_count(std::int64_t degree, std::int64_t fanout) {
  return (fanout < 0 || degree <= fanout) ? degree : fanout;
}

TG_HD counter_rng hop_rng(std::uint64_t seed, std::int64_t epoch, std::int64_t batch, int hop) {
  return counter_rng(seed, stream_id(static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(batch),
                                     static_cast<std::uint64_t>(hop)));
}

#ifndef __CUDA_ARCH__
// select_positions for a large k on the host: the same draws and the same positions, with Floyd's
// "already taken?" answered by an open-addressing hash set instead of a scan of the k drawn so far
// (O(k) instead of O(k^2): a fanout of 299,999 of a 300,000-row hub took 23 s a draw) and std::sort.
inline void select_positions_large(const counter_rng& rng, std::uint64_t base, std::int64_t degree, std::int64_t k,
                                   std::int64_t* out) {
  thread_local std::vector<std::int64_t> table;
  int bits = 1;
  while ((std::int64_t{1} << bits) < 2 * k) ++bits;
  table.assign(std::size_t{1} << bits, -1);
  const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
  auto insert = [&](std::int64_t t) {  // true when t was not in the set
    std::uint64_t h = (static_cast<std::uint64_t>(t) * 0x9E3779B97F4A7C15ull) >> (64 - bits);
    while (table[h] >= 0) {
      if (table[h] == t) return false;
      h = (h + 1) & mask;
    }
    table[h] = t;
    return true;
  };
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t j = degree - k + i;
    const auto t =
        static_cast<std::int64_t>(rng.below(base | static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j + 1)));
    if (insert(t)) {
      out[i] = t;
    } else {
      insert(j);  // j is above every position drawn before: never taken
      out[i] = j;
    }
  }
  std::sort(out, out + k);
}
#endif

// Writes k distinct positions in [0, degree) into out[0..k) in increasing order (k = sample_count).
// When every neighbour is taken no random numbers are drawn.
TG_HD void select_positions(const counter_rng& rng, std::int64_t node, std::int64_t degree, std::int64_t k,
                            std::int64_t* out) {
  if (k == degree) {
    for (std::int64_t i = 0; i < k; ++i) out[i] = i;
    return;
  }
  const std::uint64_t base = static_cast<std::uint64_t>(node) << 24;
#ifndef __CUDA_ARCH__
  if (k > kSmallSelection) {
    select_positions_large(rng, base, degree, k, out);
    return;
  }
#endif
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t j = degree - k + i;
    const auto t =
        static_cast<std::int64_t>(rng.below(base | static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j + 1)));
    bool taken = false;
    for (std::int64_t q = 0; q < i; ++q) taken |= out[q] == t;
    out[i] = taken ? j : t;
  }
  // Insertion sort: k is a fanout (small; on the host at most kSmallSelection).
  for (std::int64_t i = 1; i < k; ++i) {
    const std::int64_t x = out[i];
    std::int64_t q = i - 1;
    while (q >= 0 && out[q] > x) {
      out[q + 1] = out[q];
      --q;
    }
    out[q + 1] = x;
  }
}

}  // namespace tg
