#pragma once
// Data-parallel work split: rank r of `world` ranks takes a contiguous, near-equal slice of an
// epoch's (identically shuffled) training ids; slice sizes differ by at most one.
#include <cstdint>

namespace tg {

struct index_range {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
};

// Throws input_error unless 0 <= rank < world and n >= 0.
index_range rank_slice(std::int64_t n, int rank, int world);

}  // namespace tg
