// `wrpr` estimator: weighted reverse PageRank, the hotness score of Min et al., "Graph Neural Network
// Training with Data Tiering" (KDD'22, arXiv 2111.05894).
//
// Every training node starts with score x_0 = 1 (it is a seed of exactly one batch per epoch and its
// own features are read). Scores flow against edge direction, from a destination v to the sources u
// in its row, one hop per GNN layer, each hop weighted by the probability that the sampler keeps a
// given entry of v's row:
//     x_{h+1}(u) = sum over rows v that list u of  x_h(v) * min(1, f_h / deg(v)),   h = 0..L-1
//     score(u)   = x_0(u) + x_1(u) + ... + x_L(u)
// x_h(u) is the expected number of times u is drawn at hop h over one epoch, counting every draw:
// unlike the real sampler it does not de-duplicate within a batch (see vip.cpp), so it over-counts
// nodes reached along many paths, such as hubs and members of dense clusters.
// Cost: L sparse mat-vecs, pulled along the out-adjacency (deterministic, parallel over u).
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include <algorithm>

#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

namespace {
template <typename index_t>
estimate run(const graph_ref& g, const profile_config& cfg) {
  estimate out;
  const out_adjacency<index_t> adj(g);
  const std::int64_t n = g.num_nodes;
  const auto nn = static_cast<std::size_t>(n);
  std::vector<double> x(nn, 0.0), w(nn);
  for (std::int64_t t : cfg.train_ids) x[static_cast<std::size_t>(t)] = 1.0;
  out.score = x;
  for (std::size_t h = 0; h < cfg.fanouts.size(); ++h) {
    const std::int64_t f = cfg.fanouts[h];
    tbb::parallel_for(std::int64_t{0}, n, [&](std::int64_t v) {
      w[static_cast<std::size_t>(v)] = x[static_cast<std::size_t>(v)] * keep_probability(f, g.in_degree(v));
    });
    pull_sum(adj, w, [&](std::int64_t u, double s) {
      x[static_cast<std::size_t>(u)] = s;
      out.score[static_cast<std::size_t>(u)] += s;
    });
    // The mass grows like degree^hops (keep = 1 with fanout -1): with many hops on a dense graph it
    // would overflow to inf and rank nothing. x and the scores are scaled together (only the ranking
    // counts), so the score stays a constant multiple of the sum above.
    const double top = tbb::parallel_reduce(
        tbb::blocked_range<std::size_t>(0, nn), 0.0,
        [&](const tbb::blocked_range<std::size_t>& r, double m) {
          for (std::size_t u = r.begin(); u < r.end(); ++u) m = std::max(m, out.score[u]);
          return m;
        },
        [](double a, double b) { return std::max(a, b); });
    if (top > 1e200) {
      const double c = 1.0 / top;
      tbb::parallel_for(std::size_t{0}, nn, [&](std::size_t u) {
        x[u] *= c;
        out.score[u] *= c;
      });
      out.details["rescaled"] = true;
    }
  }
  // A run that trains only the first batches of each epoch reads each expected draw with that share.
  const std::int64_t nb = batches_per_epoch(cfg), trained = trained_batches_per_epoch(cfg);
  if (trained < nb) {
    const double share = static_cast<double>(trained) / static_cast<double>(nb);
    for (double& x_u : out.score) x_u *= share;
  }
  out.edge_passes = adj.build_edge_passes() + static_cast<double>(cfg.fanouts.size());
  out.details["hops"] = cfg.fanouts.size();
  out.details["transpose_built"] = !g.symmetric;
  return out;
}
}  // namespace

estimate estimate_wrpr(const graph_ref& g, const profile_config& cfg) {
  return g.index_type == dtype::int32 ? run<std::int32_t>(g, cfg) : run<std::int64_t>(g, cfg);
}

}  // namespace tg::estimators
