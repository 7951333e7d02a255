#pragma once
// Which nodes' CSR rows list the node itself (a stored self-loop). GCN's normalisation adds exactly
// one self-loop per node (D^-1/2 (A + I) D^-1/2 with A's diagonal left out, as PyG's gcn_norm with
// add_remaining_self_loops), so a node's GCN degree is its in-degree without a stored self-loop:
// counting it (a row of 3 neighbours and itself taken as degree 4, plus one) put the weights of such
// a node off: its own by up to a half (1/3 for 1/2 with one neighbour), its neighbours' by up to 1.6x
// with the d/(d-1) scale of a row taken whole (kernels/aggregate.hpp).
//
// Found lazily: a row is scanned the first time it is asked about (rows need not be sorted) and the
// answer kept in 2 bits per node (N / 4 bytes), so a run pays for the rows its batches touch, never a
// pass over all edges. Thread-safe; the answers depend on the graph only. Not built at all where the
// dataset's writer counted no self-loops (dataset_meta::self_loops == 0: every importer and
// generator records the count), so only graphs that store self-loops pay for it.
#include <atomic>
#include <cstdint>
#include <memory>

#include "core/dataset.hpp"
#include "core/dtype.hpp"

namespace tg {

class self_loop_index {
 public:
  // The graph arrays must outlive the index.
  self_loop_index(std::int64_t num_nodes, const std::int64_t* indptr, const void* indices, dtype index_dtype);
  explicit self_loop_index(const dataset& d);

  bool has(std::int64_t v) const;
  // v's in-degree (`degree`, its row length) without a stored self-loop.
  std::int64_t degree_without_loop(std::int64_t v, std::int64_t degree) const {
    return degree > 0 && has(v) ? degree - 1 : degree;
  }

 private:
  std::int64_t num_nodes_;
  const std::int64_t* indptr_;
  const void* indices_;
  dtype index_dtype_;
  // Node v: bit 2 (v % 32) of word v / 32 says whether it is known, the bit above it the answer.
  std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
};

}  // namespace tg
