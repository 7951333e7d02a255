#include "sampler/rank_slice.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace tg {

index_range rank_slice(std::int64_t n, int rank, int world) {
  if (world <= 0 || rank < 0 || rank >= world || n < 0)
    throw input_error("invalid rank " + std::to_string(rank) + " of world size " + std::to_string(world) + " for " +
                      std::to_string(n) + " items");
  const std::int64_t base = n / world, extra = n % world;
  index_range r;
  r.begin = rank * base + std::min<std::int64_t>(rank, extra);
  r.end = r.begin + base + (rank < extra ? 1 : 0);
  return r;
}

}  // namespace tg
