#pragma once
// The traffic ledger of k simulated data-parallel GPUs (DESIGN.md §4): replays E epochs of the
// training run exactly as train/trainer.cpp samples it with k ranks, and counts, per GPU and per
// shared-tier plan (tiering/shared_tier.hpp), the input rows each GPU reads locally, from peers,
// from host memory and from disk.
//
// Replay: batch b of epoch e is plan_epoch(train, batch_size, seed, e, shuffle, keys).batch(b);
// rank r takes rank_slice(|batch|, r, k) of it and samples its slice with neighbor_sampler(seed) as
// sample(slice, e, b) (draws keyed by the global batch), with the original ids as node keys on a
// prepared dataset (order.npy). Rank r's input rows are its blocks[0] sources, unique within the
// slice; rows shared by two ranks' slices are read by both. An empty slice (fewer seeds than ranks)
// reads nothing. Slices are sampled in parallel, one sampler per thread; the counts are integer
// sums, so results do not depend on the thread count.
// With k = 1 the counts equal the single-GPU ledger (tiered_store::count) of the same run, the
// local rows being its GPU rows.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/span.hpp"
#include "tiering/shared_tier.hpp"

namespace tg {

struct dp_replay_config {
  std::vector<std::int64_t> train_ids;  // in the dataset's ids; empty: its train_idx.npy
  std::vector<std::int64_t> fanouts{15, 10, 5};
  std::int64_t batch_size = 1024;  // the global batch, split across the ranks
  std::uint64_t seed = 0;          // the training run's seed (batcher and sampler)
  int first_epoch = 0, epochs = 1;
  int world = 1;  // k ranks, one GPU each
  // Unprepared dataset only: the hot-first id of every node (the inverse of a ranking's new -> old
  // order), so that plans over hot-first ids apply without writing the renumbered dataset. Empty:
  // ids are used as they are (a prepared dataset is hot-first already).
  std::vector<std::int64_t> hot_rank;
};

struct dp_replay_result {
  int world = 1, epochs = 1;
  std::int64_t global_batches = 0;  // over all epochs
  std::int64_t slices = 0;          // non-empty (batch, rank) slices sampled
  double seconds = 0;
  std::vector<std::vector<traffic>> per_gpu;  // [plan][gpu], summed over the epochs

  // Sum over the GPUs of plan p.
  traffic total(std::size_t plan) const;
  // Per plan: per-GPU ledgers, and per-epoch bytes per GPU (mean and max over the GPUs).
  nlohmann::json to_json(const std::vector<shared_tier_plan>& plans) const;
};

// Replays cfg.epochs epochs with cfg.world ranks and counts every plan (each for cfg.world GPUs and
// the dataset's node count) on the same samples. Throws input_error for plans that do not match,
// bad training ids, fanouts or batch size, or hot_rank given for a prepared dataset or not a
// permutation of the right length.
dp_replay_result replay_data_parallel(const dataset& d, const dp_replay_config& cfg,
                                      const std::vector<shared_tier_plan>& plans);

// (a) replication only and (b) replication + striping (plan_shared_tier with peer_to_peer) at the
// same per-GPU budget, counted on one replay: replay.per_gpu[0] is (a), [1] is (b).
struct sharing_comparison {
  shared_tier_plan replicated, striped;
  dp_replay_result replay;
};
sharing_comparison compare_sharing(const dataset& d, const dp_replay_config& cfg, shared_tier_config tier,
                                   span<const double> hot_first_scores = {});

}  // namespace tg
