#pragma once
// Message-flow blocks (MFGs). A block connects one layer's source nodes to its destination nodes:
// src_nodes lists global ids with the destination nodes first (src_nodes[i] == dst_nodes[i] for
// i < num_dst), and a local CSR (indptr over destinations, indices into src_nodes) holds the
// sampled edges u -> v. blocks[0] feeds the first GNN layer: its src_nodes are the batch's input
// nodes, whose features are gathered; blocks[L-1]'s destinations are the seed nodes.
#include <cstdint>
#include <vector>

#include "core/span.hpp"

namespace tg {

struct block {
  std::int64_t num_dst = 0;
  std::vector<std::int64_t> src_nodes;  // global ids, destinations first
  std::vector<std::int64_t> indptr;     // num_dst + 1
  std::vector<std::int32_t> indices;    // local source index per sampled edge
  // Full-graph in-degree (row length) of each source node, a stored self-loop included; GCN's
  // normalisation takes a stored self-loop out (sampler/self_loops.hpp, batch_graphs::build).
  std::vector<std::int64_t> src_degree;

  std::int64_t num_src() const { return static_cast<std::int64_t>(src_nodes.size()); }
  std::int64_t num_edges() const { return indptr.empty() ? 0 : indptr.back(); }
  span<const std::int64_t> dst_nodes() const { return {src_nodes.data(), static_cast<std::size_t>(num_dst)}; }
};

struct sampled_batch {
  std::vector<block> blocks;  // blocks[0] = input side, blocks[L-1] = seeds

  span<const std::int64_t> input_nodes() const {
    return {blocks.front().src_nodes.data(), blocks.front().src_nodes.size()};
  }
  span<const std::int64_t> seeds() const { return blocks.back().dst_nodes(); }
  std::int64_t num_sampled_edges() const {
    std::int64_t e = 0;
    for (const auto& b : blocks) e += b.num_edges();
    return e;
  }
};

}  // namespace tg
