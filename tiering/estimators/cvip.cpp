// `cvip[:K]` estimator (the default): presampled batches whose hops are expanded in expectation —
// vip's inclusion probabilities (vip.cpp) computed per batch, conditional on the batch's seeds.
//
// Why. presample:K (presample.cpp) counts, per node, the sampled batches whose input nodes contain
// it: an unbiased estimate of the reads per epoch, but one epoch of it is noisy (91-97% of the
// oracle's hit rate on the recorded graphs, 84% on facebook_page) because every count is a sum of
// 0/1 outcomes of the sampler's draws. vip has no draw noise but assumes that the nodes a hop
// reaches are independent, which fails where one seed's tree reaches a dense cluster: all of it is
// present exactly in the batches that hold that seed (77-95% on web crawls). hybrid (hybrid.cpp)
// repairs vip with presampled counts and reaches 97-99%, at 2-9 presampling epochs.
//
// Derivation (Rao-Blackwell). Fix one presampled batch: its seeds S_0 come from the same epoch plans
// the trainer uses (plan_epoch on the presample seed stream), so over an epoch every training node
// is a seed exactly once. presample adds the indicator 1[u in S_L] of the batch's actual draws;
// cvip adds its conditional expectation given the seeds, P(u in S_L | S_0). The expectation of the
// sum is the same (exactly so where the computation below is exact) and its variance is never
// larger (Rao-Blackwell): the draw noise is gone and only the choice of seeds is left to sampling.
//  - One hop is exact. A node u outside S_0 is read iff some v in S_0 whose row lists u keeps that
//    entry. Rows draw independently (select_positions is keyed by node), and v keeps each entry with
//    probability q(v) = k/deg, k = min(fanout, deg). So P(u in S_1) = 1 - prod_v (1 - q(v)).
//  - Deeper hops propagate probabilities: with p_h(v) = P(v in S_h | S_0), v draws at hop h with
//    probability p_h(v), and 1 - p_{h+1}(u) = (1 - p_h(u)) prod_v (1 - p_h(v) q_h(v)).
//    Approximations: different expanders v are treated as independent given the seeds (vip makes the
//    same assumption without conditioning on the seeds, and seed co-membership is what breaks it in
//    clusters), and a node present at several hops redraws as if fresh each hop (vip's exact
//    recursion for this, A_H in vip.cpp, reached the same hit rates here at twice the cost).
//  - A node whose probability reaches 1 (a certain expander that takes its whole row, k = deg) is a
//    certain member, as in presample; the rest are "soft" and expand with their probability.
//  - Long rows: an expander reads m = min(deg, R k) entries of its row (R = kCvipSoftRows = 3), all
//    of them when deg <= R k, else a systematic sample floor(u0 + j deg/m), j < m, u0 uniform in
//    [0, deg/m): each entry is read with probability m/deg and gets the factor 1 - p k/m, so its
//    expected factor is 1 - p k/deg, and products over independent expanders keep their expectation.
// score(u) = sum over the sampled batches of P(u in S_L | S_0), divided by the epochs sampled.
//
// Epochs and batches. Whole epochs (K = 1 by default): a fraction of an epoch leaves some seeds out
// and with them their whole neighbourhoods (cvip:0.25 reached 85-93% of the oracle on cnr-2000 where
// cvip:1 reaches 98%). At least kCvipMinBatches = 8 batches: where an epoch has only 3 or 4 batches
// (facebook_page, email-Enron with a 10% split), the seeds' split into so few batches is the
// remaining noise (facebook_page: 86-96% with 3 batches, 95-98% with 8).
//
// Cost. Each expander reads up to R k entries of its row sequentially and multiplies a float; no
// random draws except one per long row. The soft sets are wider than the sampled frontiers (3-8x
// the entries a presampling epoch draws on the recorded graphs), but an entry costs about a third
// of a sampled draw (Floyd's selection, a counter-based random number, a bitmap test), so an epoch of
// cvip takes 0.6-1.7 presampling epochs (bench/results/traffic/summary.md).
//
// Ties. Nodes that no sampled batch reached score 0, and saturated nodes tie at the batch count;
// both are ordered by row length (in-degree; the degree on undirected graphs), which costs nothing
// (indptr). On the billion-arc R-MAT with 17 batches an epoch this took the 20% cache from 92.4% to
// 96.0% of the oracle; on the five recorded graphs it changed nothing measurable.
//
// Determinism. A batch runs on one thread in a fixed order (seeds, then rows in member order); its
// contribution to each node is rounded to a 2^-20 fixed-point integer and added with integer
// atomics, so the scores are identical for any thread count and schedule.
//
// Memory: per worker two bitmaps and two floats per node (8.25 bytes per node; count_batches runs
// fewer workers when they would need more than an eighth of usable memory), plus the counts and
// the scores (16 bytes per node); nothing proportional to E. Measured on the billion-arc R-MAT with
// 2 threads: 35 bytes per node of anonymous memory (bench/results/scale/profile_rmat25.md).
//
// Against hybrid (bench/results/traffic/summary.md, 40 settings): cvip:2 matches hybrid's mean of
// the worst 5-40% cell (98.6%) at a median 2.3 presampling epochs against hybrid's 5.2; cvip:4
// reaches 98.9% at 3.7.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include <algorithm>

#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

estimate estimate_cvip(const graph_ref& g, const profile_config& cfg, double epochs) {
  const std::uint64_t seed = cfg.seed ^ kPresampleTag;
  const std::int64_t nb = trained_batches_per_epoch(cfg);
  sampling_budget budget;
  budget.max_batches = presample_batches(cfg, epochs);
  // Whole epochs up to at least kCvipMinBatches batches (never a part of one).
  if (budget.max_batches < kCvipMinBatches && nb > 0)
    budget.max_batches = std::max(budget.max_batches, (kCvipMinBatches + nb - 1) / nb * nb);
  budget.soft_hops = static_cast<std::int64_t>(cfg.fanouts.size());
  budget.soft_rows = kCvipSoftRows;
  const batch_counts c = count_batches(g, cfg, seed, budget, "presampling (cvip)");
  estimate out = scores_from_counts(g, cfg, c);
  // Ties, and nodes no sampled batch reached, go by row length (free from indptr): a relative
  // nudge below 1e-9 on positive scores, and 1e-15 x relative row length below every positive
  // score (the smallest is 2^-20 per batch) for the unreached.
  const std::int64_t max_deg = tbb::parallel_reduce(
      tbb::blocked_range<std::int64_t>(0, g.num_nodes), std::int64_t{1},
      [&](const tbb::blocked_range<std::int64_t>& r, std::int64_t m) {
        for (std::int64_t u = r.begin(); u < r.end(); ++u) m = std::max(m, g.in_degree(u));
        return m;
      },
      [](std::int64_t x, std::int64_t y) { return std::max(x, y); });
  if (c.batches > 0)  // no training node, no reads: every score stays 0
    tbb::parallel_for(std::int64_t{0}, g.num_nodes, [&](std::int64_t u) {
      const double q = static_cast<double>(g.in_degree(u)) / static_cast<double>(max_deg);
      double& sc = out.score[static_cast<std::size_t>(u)];
      sc = sc > 0 ? sc * (1.0 + 1e-10 * q) : 1e-15 * q;
    });
  out.details["seed"] = seed;
  out.details["soft_rows"] = budget.soft_rows;
  out.details["read_entries"] = c.sampled_edges;
  return out;
}

}  // namespace tg::estimators
