#pragma once
// Node-wise uniform neighbour sampling without replacement (GraphSAGE, Hamilton et al. NIPS'17).
//
// Fanouts follow the hop order from the seeds, as in PyG's num_neighbors: with --fanouts 15,10,5
// each seed gets up to 15 in-neighbours (hop 1, the block feeding the last GNN layer), each of
// those up to 10 (hop 2), and each of those up to 5 (hop 3, the block feeding the first layer,
// whose sources are the input nodes). -1 takes all neighbours.
//
// Randomness is counter-based (sampler/sampling_math.hpp), keyed by (seed, epoch, batch, hop, node,
// draw): the output is identical for any thread count and reproducible by the CUDA sampler.
// Destinations are sampled in parallel (oneTBB); relabelling to local ids is one ordered pass, so
// source order is deterministic (destinations first, then new nodes in order of first appearance).
#include <cstdint>
#include <vector>

#include "core/dataset.hpp"
#include "core/dtype.hpp"
#include "core/span.hpp"
#include "sampler/block.hpp"
#include "sampler/block_sampler.hpp"

namespace tg {

class neighbor_sampler : public block_sampler {
 public:
  // The graph arrays must outlive the sampler. Throws input_error for empty fanouts, a fanout of 0
  // or below -1, or one above kMaxFanout.
  neighbor_sampler(std::int64_t num_nodes, const std::int64_t* indptr, const void* indices, dtype index_dtype,
                   std::vector<std::int64_t> fanouts, std::uint64_t seed);
  neighbor_sampler(const dataset& d, std::vector<std::int64_t> fanouts, std::uint64_t seed);

  // Draws for node v use keys[v] instead of v (e.g. the original ids of a renumbered dataset whose
  // rows keep their original neighbour order): the renumbered graph then yields the same samples,
  // up to renaming, as the original. `keys` must hold one entry per node and outlive the sampler.
  void set_node_keys(span<const std::int64_t> keys);

  // Hops of 2^15 edges or more relabel in parallel passes when the arena has at least this many
  // threads (default 4; a large number: always the serial loop). The ids are the same either way.
  // The passes do about 1.2x the serial loop's work: on 2 threads they were 3% faster and 7% slower
  // than it in two runs (bench/sampler_bench --relabel serial,parallel). On many cores the serial
  // loop is the likely limit (33M edges/s on the H200 machine's 16 cores, ~5x two cores here); the
  // passes' gain there is not measured yet.
  void set_parallel_relabel_min_threads(int n) { parallel_relabel_min_threads_ = n; }

  int num_layers() const { return static_cast<int>(fanouts_.size()); }
  const std::vector<std::int64_t>& fanouts() const { return fanouts_; }

  // Samples the blocks of one batch into `out` (its buffers are reused across calls). Seeds must be
  // distinct node ids.
  void sample(span<const std::int64_t> seeds, std::int64_t epoch, std::int64_t batch, sampled_batch* out) override;

 private:
  template <typename index_t>
  void sample_hop(int hop, std::int64_t epoch, std::int64_t batch, block* b);
  std::int32_t local_id(std::int64_t global, block* b);
  void reset_map(std::size_t expected);

  std::int64_t num_nodes_;
  const std::int64_t* indptr_;
  const void* indices_;
  dtype index_dtype_;
  std::vector<std::int64_t> fanouts_;
  std::uint64_t seed_;
  span<const std::int64_t> node_keys_;
  // Reused across batches: sampled global neighbours of the current hop, and an open-addressing
  // map global id -> local id.
  std::vector<std::int64_t> picked_;
  std::vector<std::int64_t> dst_buffer_;
  // Relabelling: graphs up to kDenseMapMaxNodes nodes use a node-indexed map (4 bytes a node, kept
  // at -1 between hops), larger ones the open-addressing hash below.
  static constexpr std::int64_t kDenseMapMaxNodes = std::int64_t{1} << 25;
  std::vector<std::int32_t> dense_map_;
  // Hops of at least this many edges relabel in parallel passes (the same ids as the serial loop)
  // when the arena has at least parallel_relabel_min_threads_ threads.
  static constexpr std::int64_t kParallelRelabelMinEdges = std::int64_t{1} << 15;
  int parallel_relabel_min_threads_ = 4;
  void relabel_parallel(std::int64_t ne, std::int64_t nd, std::int32_t* map, block* b);
  std::vector<std::int64_t> map_keys_;
  std::vector<std::int32_t> map_vals_;
  std::size_t map_mask_ = 0;
};

// Parses "15,10,5" (and "-1" entries); throws input_error naming the text.
std::vector<std::int64_t> parse_fanouts(const std::string& text);

}  // namespace tg
