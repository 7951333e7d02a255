#include "sampler/batcher.hpp"

#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace tg {

span<const std::int64_t> batch_plan::batch(std::int64_t b) const {
  TG_EXPECTS(b >= 0 && b < num_batches(), "batch index ", b, " out of range");
  const std::int64_t begin = b * batch_size;
  const std::int64_t end = begin + std::min<std::int64_t>(batch_size, static_cast<std::int64_t>(order.size()) - begin);
  return {order.data() + begin, static_cast<std::size_t>(end - begin)};
}

batch_plan plan_epoch(span<const std::int64_t> train_ids, std::int64_t batch_size, std::uint64_t seed,
                      std::int64_t epoch, bool shuffle, span<const std::int64_t> node_keys) {
  if (batch_size <= 0) throw input_error("batch size must be positive, got " + std::to_string(batch_size));
  batch_plan p;
  p.batch_size = batch_size;
  const std::size_t n = train_ids.size();
  if (!shuffle) {
    p.order.assign(train_ids.begin(), train_ids.end());
    return p;
  }
  const counter_rng rng(seed, stream_id(0x6261746368ull /* "batch" */, static_cast<std::uint64_t>(epoch)));
  // Sort by (random key, node key, id): the node key breaks ties, so the order is a function of
  // the node keys alone.
  struct entry {
    std::uint64_t r;
    std::int64_t key, id;
    bool operator<(const entry& o) const { return r != o.r ? r < o.r : key < o.key; }
  };
  std::vector<entry> keyed(n);
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) {
    const std::int64_t id = train_ids[i];
    const std::int64_t key = node_keys.empty() ? id : node_keys[static_cast<std::size_t>(id)];
    keyed[i] = {rng.u64(static_cast<std::uint64_t>(key)), key, id};
  });
  tbb::parallel_sort(keyed.begin(), keyed.end());
  p.order.resize(n);
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) { p.order[i] = keyed[i].id; });
  return p;
}

}  // namespace tg
