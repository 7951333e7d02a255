#pragma once
// tiergnn embedding API: node-wise neighbour sampling into message-flow blocks.
#include <cstdint>
#include <memory>
#include <vector>

#include "tiergnn/dataset.hpp"

namespace tiergnn {

// One layer's bipartite graph: src_nodes lists global ids with the destination nodes first, and a
// local CSR over the destinations lists, per sampled edge u -> v, u's index into src_nodes.
struct block {
  std::int64_t num_dst = 0;
  std::vector<std::int64_t> src_nodes;  // global ids, destinations first
  std::vector<std::int64_t> indptr;     // num_dst + 1
  std::vector<std::int32_t> indices;    // local source index per edge
  // Full-graph in-degree (row length) of each source, a stored self-loop included. For GCN's
  // normalisation as PyG's gcn_norm (one self-loop per node), subtract 1 where the source's row
  // lists the source itself.
  std::vector<std::int64_t> src_degree;

  std::int64_t num_src() const { return static_cast<std::int64_t>(src_nodes.size()); }
  std::int64_t num_edges() const { return indptr.empty() ? 0 : indptr.back(); }
};

// blocks[0] feeds the first layer (its src_nodes are the rows to gather); the destinations of
// blocks.back() are the seeds. Block i+1's src_nodes are a prefix of block i's.
struct batch {
  std::vector<block> blocks;
  const std::vector<std::int64_t>& input_nodes() const { return blocks.front().src_nodes; }
  std::int64_t num_sampled_edges() const {
    std::int64_t e = 0;
    for (const auto& b : blocks) e += b.num_edges();
    return e;
  }
};

// Uniform neighbour sampling without replacement. Fanouts in PyG order (fanouts[0] for the seeds'
// neighbours; -1 takes all). Draws are counter-based on (seed, epoch, batch, hop, node, draw), so
// the same call gives the same batch for any thread count, on any thread. On a prepared dataset
// the draws are keyed by original ids (order), so it samples what the original dataset would
// have, renamed. sample() may be called from several threads at once.
class TIERGNN_API sampler {
 public:
  sampler(const dataset& d, std::vector<std::int64_t> fanouts, std::uint64_t seed);
  ~sampler();
  sampler(sampler&&) noexcept;
  sampler& operator=(sampler&&) noexcept;

  const std::vector<std::int64_t>& fanouts() const;
  std::uint64_t seed() const;

  // Seeds must be distinct ids in [0, N); throws error(kind::input) naming the first bad one.
  batch sample(const std::int64_t* seeds, std::size_t count, std::int64_t epoch, std::int64_t batch_index) const;
  batch sample(const std::vector<std::int64_t>& seeds, std::int64_t epoch, std::int64_t batch_index) const {
    return sample(seeds.data(), seeds.size(), epoch, batch_index);
  }

  // The seeds of every batch of one epoch: the training ids shuffled by (seed, epoch), cut into
  // batches of batch_size, exactly as `tiergnn train` takes them.
  std::vector<std::vector<std::int64_t>> epoch_batches(const std::vector<std::int64_t>& train_ids,
                                                       std::int64_t batch_size, std::int64_t epoch) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tiergnn
