// `degree` estimator: a node's score is its out-degree, the number of CSR rows that list it.
//
// PaGraph (Lin et al., SoCC'20) and Quiver rank nodes by degree on undirected graphs, where in- and
// out-degree agree. In tiergnn's in-neighbour CSR a node u is read when a sampled destination v
// picks it from row v, so what makes u hot is how many rows hold it: its OUT-degree, not the length
// of its own row. On symmetric (undirected) datasets that equals the row length and costs no edge
// pass; otherwise occurrences are counted in one parallel pass with integer atomics (exact, so the
// result does not depend on the schedule). The score is a ranking, not an expected batch count.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <memory>

#include "core/progress.hpp"
#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

namespace {
template <typename index_t>
void count_out_degree(const graph_ref& g, std::vector<double>* score) {
  const auto* idx = static_cast<const index_t*>(g.indices);
  const std::int64_t n = g.num_nodes;
  std::unique_ptr<std::atomic<std::int64_t>[]> c(new std::atomic<std::int64_t>[static_cast<std::size_t>(n)]());
  progress prog("out-degree", g.num_edges(), "edges");
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, g.num_edges(), 1 << 16), [&](const auto& r) {
    for (std::int64_t e = r.begin(); e < r.end(); ++e)
      c[static_cast<std::size_t>(idx[e])].fetch_add(1, std::memory_order_relaxed);
    prog.add(static_cast<std::int64_t>(r.size()));
  });
  prog.finish();
  tbb::parallel_for(std::int64_t{0}, n, [&](std::int64_t u) {
    (*score)[static_cast<std::size_t>(u)] = static_cast<double>(c[static_cast<std::size_t>(u)].load());
  });
}
}  // namespace

estimate estimate_degree(const graph_ref& g) {
  estimate out;
  out.score.resize(static_cast<std::size_t>(g.num_nodes));
  if (g.symmetric) {
    tbb::parallel_for(std::int64_t{0}, g.num_nodes, [&](std::int64_t u) {
      out.score[static_cast<std::size_t>(u)] = static_cast<double>(g.in_degree(u));
    });
    out.details["source"] = "row lengths (symmetric graph: out-degree = in-degree)";
    return out;
  }
  if (g.index_type == dtype::int32)
    count_out_degree<std::int32_t>(g, &out.score);
  else
    count_out_degree<std::int64_t>(g, &out.score);
  out.edge_passes = 1;
  out.details["source"] = "occurrences in indices (out-degree)";
  return out;
}

}  // namespace tg::estimators
