// Out-adjacency (the transpose of the in-neighbour CSR) for the analytic estimators, which pull
// scores from the destinations v of each node u's out-edges.
//
// Undirected datasets store both directions of every edge (core/dataset.hpp: "an undirected edge
// counts twice"), so their rows already are the out-lists and nothing is built. Otherwise the
// transpose is built as the importer builds a CSR (datasets/csr_builder.cpp): a parallel count of
// each u's occurrences, an exclusive scan, a parallel scatter through atomic cursors, then a
// parallel sort of each list so that its order (and every sum over it) is independent of the
// schedule.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

template <typename index_t>
out_adjacency<index_t>::out_adjacency(const graph_ref& g) : n_(g.num_nodes) {
  const auto* idx = static_cast<const index_t*>(g.indices);
  if (g.symmetric) {
    indptr_ = g.indptr;
    indices_ = idx;
    return;
  }
  const std::int64_t n = g.num_nodes;
  std::unique_ptr<std::atomic<std::int64_t>[]> cursor(new std::atomic<std::int64_t>[static_cast<std::size_t>(n)]());
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1024), [&](const auto& r) {
    for (std::int64_t v = r.begin(); v < r.end(); ++v)
      for (std::int64_t e = g.indptr[v]; e < g.indptr[v + 1]; ++e)
        cursor[static_cast<std::size_t>(idx[e])].fetch_add(1, std::memory_order_relaxed);
  });
  own_indptr_.resize(static_cast<std::size_t>(n) + 1);
  own_indptr_[0] = 0;
  for (std::int64_t u = 0; u < n; ++u) {
    const std::int64_t c = cursor[static_cast<std::size_t>(u)].load(std::memory_order_relaxed);
    own_indptr_[static_cast<std::size_t>(u) + 1] = own_indptr_[static_cast<std::size_t>(u)] + c;
    cursor[static_cast<std::size_t>(u)].store(own_indptr_[static_cast<std::size_t>(u)], std::memory_order_relaxed);
  }
  own_indices_.resize(static_cast<std::size_t>(g.num_edges()));
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1024), [&](const auto& r) {
    for (std::int64_t v = r.begin(); v < r.end(); ++v)
      for (std::int64_t e = g.indptr[v]; e < g.indptr[v + 1]; ++e) {
        const std::int64_t pos = cursor[static_cast<std::size_t>(idx[e])].fetch_add(1, std::memory_order_relaxed);
        own_indices_[static_cast<std::size_t>(pos)] = static_cast<index_t>(v);
      }
  });
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1024), [&](const auto& r) {
    for (std::int64_t u = r.begin(); u < r.end(); ++u)
      std::sort(own_indices_.begin() + own_indptr_[static_cast<std::size_t>(u)],
                own_indices_.begin() + own_indptr_[static_cast<std::size_t>(u) + 1]);
  });
  indptr_ = own_indptr_.data();
  indices_ = own_indices_.data();
  build_passes_ = 2;
}

template class out_adjacency<std::int32_t>;
template class out_adjacency<std::int64_t>;

}  // namespace tg::estimators
