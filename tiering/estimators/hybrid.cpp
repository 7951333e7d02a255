// `hybrid[:B]` estimator: a short presample (about B passes' worth of sampled edges, default 1)
// read through an empirical-Bayes prior built from vip and out-degree. It was the default until
// cvip (cvip.cpp) replaced it: on the recorded graphs cvip:2 reaches hybrid's mean hit rate at less
// than half its cost (bench/results/traffic/summary.md).
//
// Why. vip (vip.cpp) treats the nodes a hop reaches as independent, but they are not: everything one
// seed's tree reaches is present exactly in the batches that hold that seed. In dense clusters (web
// crawls) vip therefore over-estimates, and saturates, the inclusion probability of cluster members,
// and its ranking reaches only 77-95% of the oracle's hit rate at 5-20% caches on cnr-2000 and
// uk-2007-05 (bench/estimator_bench.cpp). Presampling sees the correlation but is noisy: one epoch
// gives 91-97% there and only 83-90% on facebook_page, whose epoch has 3 batches. Each has what
// the other lacks: vip ranks well *within* groups of similar nodes and covers nodes a short presample
// never reaches (locality-skewed training sets); presample counts say how far vip is off for a
// group, and for a node.
//
// How (empirical Bayes, Robbins 1956 / Efron-Morris 1975; Beta-binomial shrinkage):
//  1. theta(u) = vip(u) / nb, vip's per-batch inclusion probability; d(u) = out-degree.
//  2. Sample m batches with the real sampler's draws on the presample seed stream (presample.cpp),
//     in rounds of 8 batches until B * E sampled edges and at least 8 batches are done, or 4 epochs
//     (where the training set reaches little of the graph, vip alone is already close to the
//     oracle): c(u) of the m batches read u.
//  3. Nodes with theta > 0 are cut into k quantile bins of theta, each into k quantile bins of d
//     (k <= 16, at least ~64 nodes a bin). Per bin, a calibration factor
//     rho = sum(c / m) / sum(theta) turns vip into a prior mean mu(u) = min(1, rho * theta(u)), which
//     keeps vip's order inside the bin and corrects its bias across bins (saturated hubs vs
//     clusters). The prior variance tau^2 of the true rate around mu is the bin's residual variance
//     minus the binomial noise: tau^2 = (mean((c/m - mu)^2) - mean(mu (1 - mu)) / m) / (1 - 1/m).
//  4. With a Beta prior of mean mu and variance tau^2, i.e. s = mu (1 - mu) / tau^2 - 1 pseudo-batches,
//     the posterior mean rate is (c + mu s) / (m + s); score = nb * that. Where vip is accurate
//     (small tau^2) the prior dominates and a noisy count cannot demote a node; where it is biased
//     (large tau^2) the counts dominate.
// Every sum runs over a fixed sorted order and sampling stops at fixed rounds, so the scores are
// identical for any thread count. Cost: vip's L pushes over the rows within L-1 hops of the training
// set (at most L passes), the out-degree (free on symmetric graphs, else 1 pass), and the sampled
// edges (~B passes).
#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <cmath>

#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

estimate estimate_hybrid(const graph_ref& g, const profile_config& cfg, double budget_passes) {
  const std::int64_t n = g.num_nodes;
  const std::int64_t nb = trained_batches_per_epoch(cfg);  // batches an epoch of the run trains
  estimate vip = estimate_vip(g, cfg);
  const estimate deg = estimate_degree(g);

  // Tried and dropped (bench/traffic_all.sh, bench/profile_scale.sh): a presampling budget relative
  // to the edges vip's last hop reads instead of E cut the cost of contiguous splits 2-3x but lost up
  // to 0.6 points of hit rate on directed cnr-2000 with a random split; counting the out-degree of a
  // directed graph inside vip's last hop (one more atomic per pushed edge) was slower on the
  // billion-arc R-MAT (66 s vs 57 s) than the separate pass over indices.
  sampling_budget budget;
  budget.edge_budget = budget_passes * static_cast<double>(g.num_edges());
  budget.min_batches = kHybridMinBatches;
  budget.round = kHybridMinBatches;
  budget.max_batches = std::max(kHybridMinBatches, kHybridMaxEpochs * nb);
  const batch_counts c = count_batches(g, cfg, cfg.seed ^ kPresampleTag, budget, "presampling (hybrid)");
  const auto m = static_cast<double>(c.batches);

  estimate out;
  out.score.assign(static_cast<std::size_t>(n), 0.0);
  // Nodes vip can reach, sorted by (theta, id), then each theta bin by (degree, id).
  std::vector<std::int64_t> order;
  for (std::int64_t u = 0; u < n; ++u)
    if (vip.score[static_cast<std::size_t>(u)] > 0)
      order.push_back(u);
    else if (m > 0)
      out.score[static_cast<std::size_t>(u)] =
          static_cast<double>(nb) * static_cast<double>(c.count[static_cast<std::size_t>(u)]) / m;
  const auto reach = static_cast<std::int64_t>(order.size());
  auto by = [&](const std::vector<double>& key) {
    return [&key](std::int64_t a, std::int64_t b) {
      const double ka = key[static_cast<std::size_t>(a)], kb = key[static_cast<std::size_t>(b)];
      return ka != kb ? ka < kb : a < b;
    };
  };
  tbb::parallel_sort(order.begin(), order.end(), by(vip.score));
  std::int64_t k = 1;
  while (k < 16 && (k + 1) * (k + 1) * kHybridMinBinSize <= reach) ++k;
  std::vector<std::int64_t> bounds;  // bin b = order[bounds[b], bounds[b+1])
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t lo = reach * i / k, hi = reach * (i + 1) / k;
    tbb::parallel_sort(order.begin() + lo, order.begin() + hi, by(deg.score));
    for (std::int64_t j = 0; j < k; ++j) bounds.push_back(lo + (hi - lo) * j / k);
  }
  bounds.push_back(reach);

  const double inv_nb = nb > 0 ? 1.0 / static_cast<double>(nb) : 0.0;
  double max_deg = 0;
  for (double d : deg.score) max_deg = std::max(max_deg, d);
  const double inv_max_deg = max_deg > 0 ? 1.0 / max_deg : 0.0;
  tbb::parallel_for(std::size_t{0}, bounds.size() - 1, [&](std::size_t b) {
    const std::int64_t lo = bounds[b], hi = bounds[b + 1];
    if (hi <= lo || m <= 0) return;
    auto theta = [&](std::int64_t i) {
      return vip.score[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] * inv_nb;
    };
    auto rate = [&](std::int64_t i) {
      return static_cast<double>(c.count[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])]) / m;
    };
    double sum_rate = 0, sum_theta = 0;
    for (std::int64_t i = lo; i < hi; ++i) {
      sum_rate += rate(i);
      sum_theta += theta(i);
    }
    const double rho = sum_theta > 0 ? sum_rate / sum_theta : 0.0;
    auto mean_of = [&](std::int64_t i) { return std::min(1.0 - 1e-9, rho * theta(i)); };
    double resid = 0, noise = 0;
    for (std::int64_t i = lo; i < hi; ++i) {
      const double mu = mean_of(i), r = rate(i) - mu;
      resid += r * r;
      noise += mu * (1 - mu);
    }
    const auto cnt = static_cast<double>(hi - lo);
    const double tau2 = m > 1 ? std::max(1e-12, (resid / cnt - noise / cnt / m) / (1 - 1 / m)) : 1e-12;
    for (std::int64_t i = lo; i < hi; ++i) {
      const double mu = mean_of(i);
      const double s = std::clamp(mu * (1 - mu) / tau2 - 1, 0.0, 1e12);
      const double post = (rate(i) * m + mu * s) / (m + s);
      // Exact ties (saturated hubs read by every sampled batch, or nodes no batch read in one bin)
      // are broken by vip, then degree, not by node id: a relative nudge below 1e-9.
      const std::size_t u = static_cast<std::size_t>(order[static_cast<std::size_t>(i)]);
      const double q = deg.score[u] * inv_max_deg;
      out.score[u] = static_cast<double>(nb) * post * (1.0 + 1e-10 * q);
    }
  });

  const double e = static_cast<double>(std::max<std::int64_t>(1, g.num_edges()));
  out.edge_passes = vip.edge_passes + deg.edge_passes + static_cast<double>(c.sampled_edges) / e;
  out.details["budget_edge_passes"] = budget_passes;
  out.details["presample_batches"] = c.batches;
  out.details["presample_epochs"] = m * inv_nb;
  out.details["sampled_edges"] = c.sampled_edges;
  out.details["bins"] = {k, k};
  out.details["vip_edge_passes"] = vip.edge_passes;
  return out;
}

}  // namespace tg::estimators
