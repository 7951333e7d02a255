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
// sparse mat-vec: log(1 - p_H(u)) = log(1 - p_0(u)) + sum_v log N_v(H).
//
// Cost. The mat-vec is a push along the in-neighbour CSR itself: every row v that may be reached
// (p_{H-1}(v) > 0) adds log N_v(H) to the entries u of its row. Only those rows are read, so a hop
// costs the edges of the nodes within H-1 hops of the training set (a contiguous split of a web
// crawl reaches a small part of it), and no transpose is built (a directed graph needed 2 extra
// passes and O(E) memory for one). The sums are deterministic for any thread count: each term is
// rounded once to a fixed-point integer (2^-44 units, terms below -64 clamped: 1 - p < 1e-27 there)
// and the integer sums are exact in any order. A sum that passes -2^61 stops growing (p is 1 in
// double long before). Memory: five doubles, one int64 accumulator and one byte per node.
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
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <string>

#include "core/progress.hpp"
#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

namespace {

constexpr double kFixedScale = 17592186044416.0;  // 2^44
constexpr double kMinLog = -64.0;
constexpr std::int64_t kSaturated = -(std::int64_t{1} << 61);

std::int64_t to_fixed(double log_value) {
  return static_cast<std::int64_t>(std::llround(std::max(kMinLog, log_value) * kFixedScale));
}

template <typename index_t>
estimate run(const graph_ref& g, const profile_config& cfg) {
  estimate out;
  const std::int64_t n = g.num_nodes;
  const auto nn = static_cast<std::size_t>(n);
  const std::int64_t nb = batches_per_epoch(cfg), trained = trained_batches_per_epoch(cfg);
  out.score.assign(nn, 0.0);
  if (nb == 0) return out;
  const auto* idx = static_cast<const index_t*>(g.indices);
  const double pi = 1.0 / static_cast<double>(nb);
  // absent = 1 - p_H(v), enter = e_H(v), a = A_H(v), seed_l = log(1 - p_0(v)); term = fixed-point
  // log N_v of the hop (0: v pushes nothing); reach = 1 where p_H(v) may be positive.
  std::vector<double> absent(nn, 1.0), enter(nn, 0.0), a(nn, 0.0), seed_l(nn, 0.0);
  std::vector<std::int64_t> term(nn, 0);
  std::unique_ptr<std::atomic<std::int64_t>[]> acc(new std::atomic<std::int64_t>[nn]());
  std::unique_ptr<std::atomic<std::uint8_t>[]> reach(new std::atomic<std::uint8_t>[nn]());
  for (std::int64_t t : cfg.train_ids) {
    const auto i = static_cast<std::size_t>(t);
    absent[i] = 1 - pi;
    enter[i] = pi;
    seed_l[i] = std::log1p(-pi);
    reach[i].store(1, std::memory_order_relaxed);
  }
  const std::size_t hops = cfg.fanouts.size();
  double pushed = 0;
  for (std::size_t h = 0; h < hops; ++h) {
    const std::int64_t f = cfg.fanouts[h];
    const bool last = h + 1 == hops;
    std::atomic<std::int64_t> hop_edges{0};
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 4096), [&](const tbb::blocked_range<std::int64_t>& r) {
      std::int64_t edges = 0;
      for (std::int64_t v = r.begin(); v < r.end(); ++v) {
        const auto i = static_cast<std::size_t>(v);
        term[i] = 0;
        if (!reach[i].load(std::memory_order_relaxed)) continue;
        a[i] = (a[i] + enter[i]) * (1 - keep_probability(f, g.in_degree(v)));
        const double not_drawn = absent[i] + a[i];  // N_v(h+1)
        if (not_drawn >= 1) continue;
        term[i] = not_drawn > 0 ? to_fixed(std::log(not_drawn)) : to_fixed(kMinLog);
        if (term[i] == 0) term[i] = -1;  // a positive chance, below the fixed-point unit
        edges += g.in_degree(v);
      }
      hop_edges.fetch_add(edges, std::memory_order_relaxed);
    });
    progress prog("vip hop " + std::to_string(h + 1) + "/" + std::to_string(hops), hop_edges.load(), "edges");
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 2048), [&](const tbb::blocked_range<std::int64_t>& r) {
      std::int64_t edges = 0;
      for (std::int64_t v = r.begin(); v < r.end(); ++v) {
        const std::int64_t t = term[static_cast<std::size_t>(v)];
        if (t == 0) continue;
        for (std::int64_t e = g.indptr[v]; e < g.indptr[v + 1]; ++e) {
          const auto u = static_cast<std::size_t>(idx[e]);
          if (acc[u].load(std::memory_order_relaxed) > kSaturated) acc[u].fetch_add(t, std::memory_order_relaxed);
          if (!reach[u].load(std::memory_order_relaxed)) reach[u].store(1, std::memory_order_relaxed);
        }
        edges += g.indptr[v + 1] - g.indptr[v];
        if (edges >= (1 << 16)) {
          prog.add(edges);
          edges = 0;
        }
      }
      prog.add(edges);
    });
    prog.finish();
    pushed += static_cast<double>(hop_edges.load());
    tbb::parallel_for(std::int64_t{0}, n, [&](std::int64_t u) {
      const auto i = static_cast<std::size_t>(u);
      if (!reach[i].load(std::memory_order_relaxed)) return;  // untouched and no seed: p stays 0
      const std::int64_t s = acc[i].load(std::memory_order_relaxed);
      acc[i].store(0, std::memory_order_relaxed);
      const double l = seed_l[i] + static_cast<double>(s) / kFixedScale;
      if (last) {
        out.score[i] = static_cast<double>(trained) * -std::expm1(l);  // accurate for small p
      } else {
        const double next = std::exp(l);  // 1 - p only feeds N_v, where absolute error is what counts
        enter[i] = std::max(0.0, absent[i] - next);
        absent[i] = next;
      }
    });
  }
  const double e = static_cast<double>(std::max<std::int64_t>(1, g.num_edges()));
  out.edge_passes = pushed / e;
  out.details["batches_per_epoch"] = nb;
  out.details["seed_probability"] = pi;
  out.details["pushed_edges"] = pushed;
  return out;
}
}  // namespace

estimate estimate_vip(const graph_ref& g, const profile_config& cfg) {
  return g.index_type == dtype::int32 ? run<std::int32_t>(g, cfg) : run<std::int64_t>(g, cfg);
}

}  // namespace tg::estimators
