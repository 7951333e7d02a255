// `vip` estimator: the probability that a node's features are read by one mini-batch, with the
// de-duplication the sampler does inside a batch, in the manner of SALIENT++'s vertex inclusion
// probabilities (Kaler et al., "Communication-Efficient Graph Neural Networks with Probabilistic
// Neighborhood Expansion Analysis and Caching", MLSys'23).
//
// Derivation. An epoch splits the training set T into nb = ceil(|T| / B) batches, so a given batch
// holds a given training node with probability pi = 1 / nb (average batch size over |T|). Let S_0
// be a batch's seeds and S_H the sources after hop H. At hop h (h = 0..L-1, fanout f_h) every node
// of S_h is a destination and keeps k = min(f_h, deg v) of the deg v entries of its row, uniformly
// without replacement, so a given entry is kept with probability q_h(v) = min(1, f_h / deg v), and
// S_{h+1} = S_h plus the kept entries. The input nodes (blocks[0] sources) are S_L.
// A node that enters S_j stays a destination at every later hop and redraws its row each time, so
// u is in S_H exactly when u is a seed or some v listing u drew u at some hop h < H with v in S_h.
// For one v these chances are not independent (they all need v present), but given the hop j at
// which v entered they are: v misses u at hops j..H-1 with probability prod_{h=j}^{H-1} (1 - q_h(v)).
// With p_h(v) = P(v in S_h) and e_j(v) = p_j(v) - p_{j-1}(v) = P(v enters at hop j),
//     N_v(H) = P(v has not drawn u by hop H) = (1 - p_{H-1}(v)) + A_H(v),
//     A_H(v) = sum_{j<H} e_j(v) prod_{h=j}^{H-1} (1 - q_h(v)),   A_{H+1} = (A_H + e_H)(1 - q_H).
// Treating different v as independent (the approximation):
//     1 - p_H(u) = (1 - p_0(u)) * prod over rows v listing u of N_v(H),   p_0(u) = pi for u in T.
// The expected number of batches of an epoch that read u is the sum over batches of P(u in S_L):
// score(u) = nb * p_L(u) (1 for a training node that nothing else reaches). In logs each hop is one
// sparse mat-vec pulled along the out-adjacency: log(1 - p_H(u)) = log(1 - p_0(u)) + sum_v log N_v(H).
// (The plain recursion 1 - p_{h+1}(u) = (1 - p_h(u)) prod_v (1 - p_h(v) q_h(v)) treats v's redraws
// at later hops as fresh chances independent of its earlier draws; on sparse random graphs it
// over-counts the total reads by 15-30%, where this form is within 0.2% — tests/tiering.)
//
// Relation to wrpr: to first order in small probabilities p_H(u) is the expected number of draws of
// u, wrpr's sum; where many draws add up (hubs), the product saturates at 1 — one read per batch
// however many sampled edges point at u — while wrpr keeps counting every edge.
// Limitation: independence across different v ignores that everything one seed's tree reaches is
// present in the same batches. In dense clusters (web crawls) the product over-estimates, and can
// saturate, the inclusion probability of cluster members (hybrid.cpp corrects it with presampling);
// on undirected graphs it also counts u -> v -> u back-draws as new chances (a non-backtracking
// variant with per-edge messages gained only 0.5-2 points of hit rate on the bench graphs).
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
  // absent = 1 - p_H(v), enter = e_H(v), a = A_H(v), seed_l = log(1 - p_0(v)).
  std::vector<double> absent(nn, 1.0), enter(nn, 0.0), a(nn, 0.0), seed_l(nn, 0.0), log_n(nn);
  for (std::int64_t t : cfg.train_ids) {
    const auto i = static_cast<std::size_t>(t);
    absent[i] = 1 - pi;
    enter[i] = pi;
    seed_l[i] = std::log1p(-pi);
  }
  const std::size_t hops = cfg.fanouts.size();
  for (std::size_t h = 0; h < hops; ++h) {
    const std::int64_t f = cfg.fanouts[h];
    tbb::parallel_for(std::int64_t{0}, n, [&](std::int64_t v) {
      const auto i = static_cast<std::size_t>(v);
      a[i] = (a[i] + enter[i]) * (1 - keep_probability(f, g.in_degree(v)));
      const double not_drawn = absent[i] + a[i];  // N_v(h+1); exactly 1 where nothing reached v
      log_n[i] = not_drawn >= 1 ? 0.0 : std::log(std::max(0.0, not_drawn));
    });
    const bool last = h + 1 == hops;
    pull_sum(adj, log_n, [&](std::int64_t u, double s) {
      const auto i = static_cast<std::size_t>(u);
      const double l = seed_l[i] + s;
      if (last) {
        out.score[i] = static_cast<double>(nb) * -std::expm1(l);  // accurate for small p
      } else {
        const double next = std::exp(l);  // 1 - p only feeds N_v, where absolute error is what counts
        enter[i] = std::max(0.0, absent[i] - next);
        absent[i] = next;
      }
    });
  }
  out.edge_passes = adj.build_edge_passes() + static_cast<double>(hops);
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
