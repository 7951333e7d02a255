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
// One store for both backends. The shard's tiers are the feature store of the job's backend
// (tiering/store.hpp): on CPU the tiered store, on a GPU the CUDA store (the shard's GPU tier in
// device memory, its host tier pinned and read zero-copy, its disk tier staged). The three kinds of
// rows land back to back in a staging buffer of the backend's memory — local rows written there by
// the shard's store, fetched rows by the exchange, replicas copied from host memory — and one
// backend operation (backend::scatter_rows) puts each where the batch wants it. The rows travel
// between ranks over the host communicator (MPI or TCP; on a GPU through host memory), or with
// nccl_exchange over NCCL from GPU to GPU (the served rows never leave device memory). The ids and
// counts always travel over the host communicator. So everything but the NCCL transfer and the
// scatter kernel is the code the CPU tests run.
//
// Results are identical to the unsharded store: the same float32 rows at the same positions, so a
// job trains the same model on K shards as on the unsharded dataset with K ranks.
#include <chrono>
#include <cstdint>
#include <functional>
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
    // The backend whose memory gather() writes: cpu (host memory), or cuda on device_id with the
    // shard's GPU tier in device memory. CUDA: reserve_bytes is the device memory training needs
    // beside the tier (the exchange's buffers included: sharded_exchange_bytes), checked before
    // anything is loaded; cpu_gather_copy as in store_options.
    device_kind device = device_kind::cpu;
    int device_id = 0;
    std::uint64_t reserve_bytes = 0;
    bool cpu_gather_copy = false;
    // CUDA: rows travel between the GPUs over NCCL (a communicator of the store's own, bootstrapped
    // over the host one) instead of through host memory over the host communicator.
    bool nccl_exchange = false;
    std::chrono::milliseconds timeout{600000};  // the NCCL communicator's
    // The most rows one exchange stages (a training batch's input rows at most: the trainer passes
    // the bound its GPU reserve was sized for; 0: 32 MiB of rows). The replica fetch and gathers into
    // host memory on a device backend (evaluation) run in rounds of at most this many rows per rank,
    // and a device backend reserves its workspaces for it up front, so the exchange never holds more
    // device memory than sharded_exchange_bytes(max_stage_rows, dim, K) says.
    std::int64_t max_stage_rows = 0;
    // Tests: a backend (not owned) and a maker of the shard's store to use instead of the ones
    // `device` names; with the shadow-device backend (tests/shadow_backend.hpp) the device-memory
    // code path runs on a machine without a GPU.
    backend* backend_override = nullptr;
    std::function<std::unique_ptr<feature_store>(const feature_file&, std::int64_t g, std::int64_t c)> store_override;
  };
  // Opens shard `comm->rank()` (comm: the job's duplicate, communicator::duplicate) of the prepared dataset `d` (plan
  // `pf`), checking before any work that the job has one rank per shard, that the shard file is there, has the plan's
  // shape and size and is the plan's (head / tail fingerprints): input_error naming the file otherwise. Then loads the
  // shard's memory tiers and fetches the replicas (collective).
  sharded_store(const dataset& d, const plan_file& pf, std::unique_ptr<communicator> comm, const options& o);

  ~sharded_store() override;
  std::int64_t num_rows() const override { return layout_.n; }
  std::int64_t dim() const override { return local_->dim(); }
  std::int64_t row_bytes() const override { return local_->row_bytes(); }
  // This shard's tier boundaries, as renumbered ids.
  std::int64_t g() const override { return layout_.begin(rank_) + local_->g(); }
  std::int64_t c() const override { return layout_.begin(rank_) + local_->c(); }
  // The backend's memory; gather() also writes host memory (evaluation), through a copy.
  memory_kind output_memory() const override { return be_->memory(); }
  std::string host_tier_mode() const override;
  // Collective (see above).
  void gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) override;
  bool collective() const override { return true; }
  // Why the exchange may not run on another thread while the job's communicator is in use (empty:
  // it may): MPI without MPI_THREAD_MULTIPLE, or rows over NCCL, whose operations on two
  // communicators (this exchange's and the gradient reduction's) must not overlap and must be
  // issued in the same order on every rank (NCCL's rule; otherwise they can deadlock).
  std::string overlap_blocker() const;

  const shard_layout& layout() const { return layout_; }
  std::int64_t replica_rows() const { return replica_rows_; }
  int shard() const { return rank_; }

  // The engine the rows travel over: "nccl", or the host communicator's kind ("mpi", "cpu").
  const char* exchange_kind() const { return rows_comm_ ? rows_comm_->kind() : comm_->kind(); }

 private:
  // Serves the other ranks' requests and fetches this rank's: requests[r] holds the local ids (in
  // shard r) wanted from rank r; rows come back into `rows` (backend memory, at least the requests'
  // rows) in request order, owner by owner. Returns the network bytes of this rank's requests (ids
  // sent to other ranks, rows received from them).
  std::int64_t exchange(const std::vector<std::vector<std::int64_t>>& requests, tensor_view<float> rows);
  // One collective gather of ids (at most stage_rows_ of them when out is host memory on a device
  // backend) into out; this call's counts into *t.
  void gather_once(span<const std::int64_t> ids, tensor_view<float> out, traffic* t);
  // How many rounds of at most stage_rows_ rows cover `mine` rows on every rank (collective).
  std::int64_t rounds_for(std::int64_t mine);

  shard_layout layout_;
  int rank_ = 0;
  std::unique_ptr<communicator> comm_;       // host: counts and ids (and rows without NCCL)
  std::unique_ptr<communicator> rows_comm_;  // NCCL between the GPUs, or null
  std::unique_ptr<backend> be_owner_;
  backend* be_ = nullptr;
  std::unique_ptr<feature_store> local_;
  std::int64_t replica_rows_ = 0, replica_bound_ = 0, stage_rows_ = 0;
  host_buffer<float> replicas_;  // replica_rows_ x dim, in replica-slot order
  // Per-batch workspaces, grown as needed: staged rows and their output positions (backend memory),
  // the rows this rank serves, and host bounce buffers for a device backend without NCCL.
  tensor<float> stage_, served_, out_copy_;
  tensor<std::int64_t> pos_;
  std::vector<float> served_host_, fetched_host_, replica_host_;
  std::vector<std::int64_t> pos_host_;
};

// Opens a sharded dataset's store for this job (trainer, API): validates the world against the
// shard count with a message that says how to launch it.
std::unique_ptr<sharded_store> open_sharded_store(const dataset& d, communicator* job, const sharded_store::options& o);

}  // namespace tg
