// `vip` estimator: the probability that a node's features are read by one mini-batch, with the
// de-duplication the sampler does inside a batch, in the manner of SALIENT++'s vertex inclusion
// probabilities (Kaler et al., "Communication-Efficient Graph Neural Networks with Probabilistic
// Neighborhood Expansion Analysis and Caching", MLSys'23).
//
// Derivation. An epoch splits the training set T into nb = ceil(|T| / B) batches, so a given batch
// holds a given training node with probability pi = 1 / nb (average batch size over |T|). Let S_0
// be a batch's seeds and S_h the sources of hop h: the sampler makes every v in S_h a destination of
// hop h+1 and keeps k = min(f_h, deg v) of the deg v entries of v's row, uniformly without
// replacement, so a given entry is kept with probability q_h(v) = min(1, f_h / deg v); and
//     S_{h+1} = S_h  united with  { u : an entry u of the row of some v in S_h is kept }.
// The input nodes (blocks[0] sources) are S_L. Write p_h(u) = P(u in S_h). Then u is not in
// S_{h+1} exactly when it is not in S_h and no destination v keeps an entry equal to u. Treating
// these events as independent (the approximation):
//     1 - p_{h+1}(u) = (1 - p_h(u)) * prod over rows v listing u of (1 - p_h(v) q_h(v)),
//     p_0(u) = pi for u in T, else 0.
// The expected number of batches of an epoch that read u is the sum over batches of
// P(u in S_L), i.e. score(u) = nb * p_L(u) (1 for a training node that nothing else reaches).
// In logs, l_h = log(1 - p_h) is a sum, so each hop is one sparse mat-vec pulled along the
// out-adjacency: l_{h+1}(u) = l_h(u) + sum_v log1p(-p_h(v) q_h(v)); p = -expm1(l).
//
// Relation to wrpr: to first order in small probabilities p_{h+1} ~ p_h + sum_v p_h(v) q_h(v),
// which is wrpr's recursion; where many terms add up (hubs), the product saturates at 1 — one read
// per batch however many sampled edges point at u — while wrpr keeps counting every edge.
// Limitation: the independence assumption ignores positive correlation. In a dense cluster all
// members are reached in the batches that put a seed into the cluster and none in the others, so
// the product over-estimates their inclusion probability (and can saturate it).
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

namespace {
template <typename index_t>
estimate run(const graph_ref& g, const profile_config& cfg) {
  estimate out;
  const std::int64_t n = g.num_nodes;
  const auto nn = static_cast<std::size_t>(n);
  const std::int64_t nb = batches_per_epoch(cfg);
  out.score.assign(nn, 0.0);
  if (nb == 0) return out;
  const out_adjacency<index_t> adj(g);
  const double pi = 1.0 / static_cast<double>(nb);
  // p = P(v in S_H), e = P(v enters at hop H), a = A_H(v), seed_l = log(1 - p_0).
  std::vector<double> p(nn, 0.0), e(nn, 0.0), a(nn, 0.0), seed_l(nn, 0.0), log_n(nn), sum;
  for (std::int64_t t : cfg.train_ids) {
    p[static_cast<std::size_t>(t)] = e[static_cast<std::size_t>(t)] = pi;
    seed_l[static_cast<std::size_t>(t)] = std::log1p(-pi);
  }
  for (std::size_t h = 0; h < cfg.fanouts.size(); ++h) {
    const std::int64_t f = cfg.fanouts[h];
    tbb::parallel_for(std::int64_t{0}, n, [&](std::int64_t v) {
      const auto i = static_cast<std::size_t>(v);
      a[i] = (a[i] + e[i]) * (1 - keep_probability(f, g.in_degree(v)));
      log_n[i] = std::log(std::clamp(1 - p[i] + a[i], 0.0, 1.0));
    });
    pull_sum(adj, log_n, &sum);
    tbb::parallel_for(std::int64_t{0}, n, [&](std::int64_t u) {
      const auto i = static_cast<std::size_t>(u);
      const double next = -std::expm1(seed_l[i] + sum[i]);
      e[i] = std::max(0.0, next - p[i]);
      p[i] = next;
    });
  }
  tbb::parallel_for(std::int64_t{0}, n, [&](std::int64_t u) {
    out.score[static_cast<std::size_t>(u)] = static_cast<double>(nb) * p[static_cast<std::size_t>(u)];
  });
  out.edge_passes = adj.build_edge_passes() + static_cast<double>(cfg.fanouts.size());
  out.details["batches_per_epoch"] = nb;
  out.details["seed_probability"] = pi;
  out.details["transpose_built"] = !g.symmetric;
  return out;
}
}  // namespace

estimate estimate_vip(const graph_ref& g, const profile_config& cfg) {
  return g.index_type == dtype::int32 ? run<std::int32_t>(g, cfg) : run<std::int64_t>(g, cfg);
}

}  // namespace tg::estimators
