#pragma once
// Mini-batches of seed nodes for one epoch: the training ids in a shuffled order that depends only
// on (seed, epoch) — each id gets a Philox key and ids are sorted by (key, id) — so every thread
// count and every rank of a data-parallel job sees the same permutation.
#include <cstdint>
#include <vector>

#include "core/span.hpp"

namespace tg {

struct batch_plan {
  std::vector<std::int64_t> order;  // the epoch's permutation of the training ids
  std::int64_t batch_size = 0;

  std::int64_t num_batches() const {
    const auto n = static_cast<std::int64_t>(order.size());  // ceil(n / batch_size), without overflow
    return batch_size > 0 ? n / batch_size + (n % batch_size != 0 ? 1 : 0) : 0;
  }
  span<const std::int64_t> batch(std::int64_t b) const;
};

// Throws input_error for batch_size <= 0. With node_keys (one per node, e.g. the original ids of a
// renumbered dataset) the order is drawn from the keys instead of the ids, so a renumbered dataset
// gets the same batches as the original one.
batch_plan plan_epoch(span<const std::int64_t> train_ids, std::int64_t batch_size, std::uint64_t seed,
                      std::int64_t epoch, bool shuffle = true, span<const std::int64_t> node_keys = {});

}  // namespace tg
