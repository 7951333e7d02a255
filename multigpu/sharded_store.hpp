#pragma once
// Features sharded across machines (DESIGN.md §8): for graphs whose features exceed one machine,
// `prepare --shards K` splits the renumbered features into K shard files, and a data-parallel job of
// K ranks (one per machine, or several on one machine for tests) trains with rank m holding shard m.
//
// Layout. The hot-first ranking is dealt round-robin: global hot rank r goes to shard r mod K at
// local position r div K, and shard m holds the contiguous renumbered ids [begin(m), end(m)) in that
// order. Every shard is therefore hot-first itself and holds a 1/K share of every heat level, so
// each machine tiers its shard exactly as a single machine tiers its dataset (GPU / host / disk
// prefixes of the shard) and every machine serves an equal share of the remote reads.
//
// Replication. Each machine may spend a byte budget on copies of other machines' rows: it takes the
// hottest remote rows (the smallest global hot ranks not its own) until the budget is spent,
// fetched once when the store opens (one exchange) and held in host memory. The budget is a
// promise: the replicas never exceed it.
//
// Gather. A batch's ids are split into local rows (served by the shard's tiered store), replicated
// rows (copied from the replicas) and remote rows, fetched with one exchange per batch: the request
// counts travel in an all_gather, the ids and then the rows in two all_to_all_v calls. Every rank
// serves the others' requests in the same call, so gather() is collective: all ranks call it
// equally often, in the same order (the trainer's batches do; evaluation splits its batches across
// the ranks). The exchange runs on a communicator of its own (communicator::duplicate), so the
// batch producer thread can fetch the next batch while the training thread reduces gradients.
//
// Results are identical to the unsharded store: the same float32 rows at the same positions, so a
// job trains the same model on K shards as on the unsharded dataset with K ranks.
#include <cstdint>
#include <memory>
#include <vector>

#include "core/dataset.hpp"
#include "core/memory.hpp"
#include "multigpu/communicator.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/plan_file.hpp"
#include "tiering/shard_layout.hpp"
#include "tiering/store.hpp"

namespace tg {

class sharded_store final : public feature_store {
 public:
  struct options {
    int disk_readers = 4;
    // This shard's tiers (rows of the shard) and the replica budget in rows; -1: the plan's.
    std::int64_t gpu_rows = -1, host_rows = -1, replica_rows = -1;
  };
  // Opens shard `comm->rank()` (comm: the job's duplicate, communicator::duplicate) of the prepared dataset `d` (plan
  // `pf`), checking before any work that the job has one rank per shard, that the shard file is there, has the plan's
  // shape and size and is the plan's (head / tail fingerprints): input_error naming the file otherwise. Then loads the
  // shard's memory tiers and fetches the replicas (collective).
  sharded_store(const dataset& d, const plan_file& pf, std::unique_ptr<communicator> comm, const options& o);

  std::int64_t num_rows() const override { return layout_.n; }
  std::int64_t dim() const override { return local_->dim(); }
  std::int64_t row_bytes() const override { return local_->row_bytes(); }
  // This shard's tier boundaries, as renumbered ids.
  std::int64_t g() const override { return layout_.begin(rank_) + local_->g(); }
  std::int64_t c() const override { return layout_.begin(rank_) + local_->c(); }
  memory_kind output_memory() const override { return memory_kind::host; }
  std::string host_tier_mode() const override;
  // Collective (see above).
  void gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) override;
  bool collective() const override { return true; }
  // Whether the exchange may run on another thread while the job's communicator is in use.
  bool concurrent_ok() const { return comm_->concurrent_ok(); }

  const shard_layout& layout() const { return layout_; }
  std::int64_t replica_rows() const { return replica_rows_; }
  int shard() const { return rank_; }

 private:
  // Serves the other ranks' requests and fetches this rank's: requests[r] holds the local ids (in
  // shard r) wanted from rank r; rows come back into `rows` in request order. Returns the network
  // bytes of this rank's requests (ids sent to other ranks, rows received from them).
  std::int64_t exchange(const std::vector<std::vector<std::int64_t>>& requests, std::vector<float>* rows);

  shard_layout layout_;
  int rank_ = 0;
  std::unique_ptr<communicator> comm_;
  std::unique_ptr<tiered_store> local_;
  std::int64_t replica_rows_ = 0, replica_bound_ = 0;
  host_buffer<float> replicas_;  // replica_rows_ x dim, in replica-slot order
};

// Opens a sharded dataset's store for this job (trainer, API): validates the world against the
// shard count with a message that says how to launch it.
std::unique_ptr<sharded_store> open_sharded_store(const dataset& d, communicator* job, const sharded_store::options& o);

}  // namespace tg
