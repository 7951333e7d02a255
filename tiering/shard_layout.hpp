#pragma once
// The round-robin layout of features sharded K ways (prepare --shards K; multigpu/sharded_store.hpp):
// global hot rank r lives in shard r mod K at local position r div K, and shard m holds the
// contiguous renumbered ids [begin(m), end(m)) (sizes differ by at most one, larger shards first).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace tg {

// Which shard holds a renumbered id, and the hot rank behind it (see above).
struct shard_layout {
  std::int64_t n = 0;
  int k = 1;

  std::int64_t size(int m) const { return n / k + (m < n % k ? 1 : 0); }
  std::int64_t begin(int m) const { return m * (n / k) + std::min<std::int64_t>(m, n % k); }
  std::int64_t end(int m) const { return begin(m) + size(m); }
  int owner(std::int64_t id) const;
  // The global hot rank of renumbered id `id` and the id of global hot rank r.
  std::int64_t hot_rank(std::int64_t id) const {
    const int m = owner(id);
    return (id - begin(m)) * k + m;
  }
  std::int64_t id_of_rank(std::int64_t r) const { return begin(static_cast<int>(r % k)) + r / k; }
  // The new -> old order of a sharded dataset from the hot-first order of an unsharded one.
  std::vector<std::int64_t> deal(const std::vector<std::int64_t>& hot_order) const;
  // Shard m's replica of the other shards' hottest rows under `rows` rows: the number of global hot
  // ranks [0, bound) it covers; a remote id is replicated iff hot_rank(id) < bound.
  std::int64_t replica_rank_bound(int m, std::int64_t rows) const;
  // The position of remote hot rank r among shard m's remote ranks (its replica slot).
  std::int64_t remote_index(int m, std::int64_t r) const { return r - (r > m ? (r - m - 1) / k + 1 : 0); }
};

// Device memory a GPU rank's feature exchange may hold beside its shard's tier
// (multigpu/sharded_store.hpp), for batches of at most `input_rows` input rows of `dim` float32
// columns in a job of k shards: the staging buffer and its positions (one batch), the copy a gather
// into host memory goes through (one batch), and the rows it serves the other k - 1 ranks (one batch
// each, at most).
std::uint64_t sharded_exchange_bytes(std::int64_t input_rows, std::int64_t dim, int k);

struct budget;
// A GPU byte budget (`option`: "--gpu-mem") must hold training's own memory (`reserve`) and, in a job
// of k shards, the exchange's buffers beside it: budget_error naming both (and fewer shards as a
// remedy) when it does not, before any tier is sized. Shares of the features are checked at training.
void check_gpu_budget_for_exchange(const budget& gpu, std::uint64_t reserve, std::uint64_t exchange, int k,
                                   const std::string& option);

// A machine's replica budget (--replicate: bytes, or a share of all rows held as float32) in bytes.
std::uint64_t replica_budget_bytes(const std::string& text, std::int64_t num_nodes, std::int64_t feature_dim);

}  // namespace tg
