#include "tiering/shard_layout.hpp"

#include "core/error.hpp"
#include "core/progress.hpp"
#include "tiering/budget.hpp"

namespace tg {

int shard_layout::owner(std::int64_t id) const {
  const std::int64_t q = n / k, rem = n % k;
  const std::int64_t big = rem * (q + 1);  // the first `rem` shards hold q + 1 rows
  if (id < big) return static_cast<int>(id / (q + 1));
  return static_cast<int>(rem + (id - big) / q);
}

std::vector<std::int64_t> shard_layout::deal(const std::vector<std::int64_t>& hot_order) const {
  TG_EXPECTS(static_cast<std::int64_t>(hot_order.size()) == n, "order of ", hot_order.size(), " for ", n, " rows");
  std::vector<std::int64_t> out(hot_order.size());
  for (std::int64_t r = 0; r < n; ++r)
    out[static_cast<std::size_t>(id_of_rank(r))] = hot_order[static_cast<std::size_t>(r)];
  return out;
}

std::int64_t shard_layout::replica_rank_bound(int m, std::int64_t rows) const {
  rows = std::clamp<std::int64_t>(rows, 0, n - size(m));
  std::int64_t lo = 0, hi = n;  // the smallest bound whose remote ranks number `rows`
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (remote_index(m, mid) >= rows)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

std::uint64_t replica_budget_bytes(const std::string& text, std::int64_t num_nodes, std::int64_t feature_dim) {
  return parse_budget(text, "--replicate")
      .resolve(static_cast<std::uint64_t>(num_nodes) * static_cast<std::uint64_t>(feature_dim) * sizeof(float));
}

std::uint64_t sharded_exchange_bytes(std::int64_t input_rows, std::int64_t dim, int k) {
  const auto rows = static_cast<std::uint64_t>(std::max<std::int64_t>(input_rows, 0));
  const auto row = static_cast<std::uint64_t>(std::max<std::int64_t>(dim, 0)) * sizeof(float);
  return rows * (2 * row + sizeof(std::int64_t)) + static_cast<std::uint64_t>(std::max(k - 1, 0)) * rows * row;
}

void check_gpu_budget_for_exchange(const budget& gpu, std::uint64_t reserve, std::uint64_t exchange, int k,
                                   const std::string& option) {
  if (gpu.type != budget::kind::bytes || k < 1 || exchange == 0) return;
  const std::uint64_t need = reserve + exchange;
  if (need < reserve || gpu.bytes >= need) return;  // an overflowing sum is left to size_tiers' message
  const auto text = [](std::uint64_t b) { return format_bytes(static_cast<double>(b)); };
  throw budget_error(option + " " + text(gpu.bytes) +
                     " cannot hold training's own GPU memory (model, optimizer state, a batch's input rows and "
                     "activations: about " +
                     text(reserve) + ") and the buffers of the feature exchange between the " + std::to_string(k) +
                     " shards (rows staged for this rank and served to the other " + std::to_string(k - 1) +
                     ": about " + text(exchange) + "); it is short by " + text(need - gpu.bytes) + ". Raise " + option +
                     ", use fewer --shards, or lower --batch-size / --fanouts / --hidden");
}

}  // namespace tg
