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
// cvip adds its conditional expectation given the seeds and the draws of all but the last two hops
// (kCvipSoftHops), P(u in S_L | S_{L-2}): the first L - 2 hops are sampled as presample samples
// them, the last two are expanded in expectation (with L = 2, given the seeds alone). The expectation
// of the sum is the same (exactly so where the computation below is exact) and its variance is never
// larger (Rao-Blackwell): the last two hops' draw noise is gone.
//   Why not every hop: a soft hop reads R k entries of a row where a sampled one draws k, so each soft
// hop before the last widens the soft sets of the hops after it. With three hops (fanouts 15,10,5,
// measured on 14 settings of the recorded graphs and an R-MAT of 268M arcs) a sampled first hop
// read 3-36% fewer entries (R-MAT: 9.3 -> 6.0 entries per presampled one; 1.43 -> 1.04 s on one
// thread) and lost 0.0-0.2 points of the oracle (mean 0.07): its draw noise is averaged by the two
// soft hops after it. Part of the saving buys a wider last hop, R = 4 instead of 3: still fewer
// entries than all three hops soft on every graph (R-MAT 7.7; 1.47 -> 1.14 s), and the loss is
// nearly gone (the 20 three-hop settings of bench/results/traffic: mean -0.03 points, -0.17 to
// +0.11). With two hops, sampling the first lost 0.2-1.4 points (mean 0.6), so two hops are both
// soft: the first with R = 3 and the last with R = 6 (kCvipAllSoftLastRows). On the 20 two-hop
// settings of bench/results/traffic the last hop's R = 6 against 3 raised the worst 5-40% cell by
// 0.29 points on average (-0.12 to +0.78; 3 -> 8 settings at >= 99% of the oracle, the random
// splits of the web crawls and Slashdot gaining most) for 41% more entries and a median 4% more time
// (up to +35%, uk-2007 random: a window of consecutive entries costs little more than a short one);
// R = 4: +0.15, 5: +0.23, 10: +0.40 for 2.2x the entries; only the certain expanders at R = 10:
// +0.24 for 26% more entries. The first hop's R matters little (10 instead of 3: +0.03): the noise
// left is the last hop's row samples. With three hops a wider last hop gained nothing (R = 6
// against 4: +0.04 points for 27% more entries). Nor narrower (the 40 settings, 2026-12-06): R = 2
// before the last hop read a median 11% fewer entries for -0.08 points (-0.31 at worst; settings at
// >= 99% of the oracle 19 -> 10), R = 1 31% fewer for -0.57 (-1.46): the trade is smooth, no free cut.
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
//  - Long rows: an expander reads m = min(deg, R k) entries of its row (R = kCvipSoftRows = 3; at
//    the last hop after sampled hops kCvipLastSoftRows = 4, with every hop soft 6, see above), all
//    of them when deg <= R k, else a systematic sample floor(u0 + j deg/m), j < m, u0 uniform in
//    [0, deg/m) (at the last hop: m consecutive entries from a uniform start, wrapping round, which
//    touches one or two cache lines instead of m; presample.cpp, soft_hop): each entry is read with
//    probability m/deg and gets the factor 1 - p k/m, so its expected factor is 1 - p k/deg, and
//    products over independent expanders keep their expectation.
// score(u) = sum over the sampled batches of P(u in S_L | S_{L-2}), divided by the epochs sampled.
//
// Epochs and batches. Whole epochs (K = 1 by default): a fraction of an epoch leaves some seeds out
// and with them their whole neighbourhoods (cvip:0.25 reached 85-93% of the oracle on cnr-2000 where
// cvip:1 reaches 98%). At least kCvipMinBatches = 8 batches: where an epoch has only 3 or 4 batches
// (facebook_page, email-Enron with a 10% split), the seeds' split into so few batches is the
// remaining noise (facebook_page: 86-96% with 3 batches, 95-98% with 8). Measured again on the 16
// email-Enron and facebook_page settings of bench/results/traffic (a build with kCvipMinBatches = 1,
// 2026-12-06): one epoch costs 0.55-1.49 presampling epochs (median 0.97) where 8 batches cost
// 1.36-2.89 (median 2.15), and its worst 5-40% cell is 0.36-4.25 points lower (mean 1.71; 92.7-98.6%
// of the oracle against 96.5-99.1%). A cost of one presampling epoch on such graphs would give up
// those points; the default keeps them.
//
// Shrinkage across epochs (empirical Bayes; Robbins 1956, Efron-Morris 1975). Where the sample
// holds K >= 2 whole epochs (the few-batch graphs, whose epochs of 3-4 batches are repeated to reach
// 8 batches, and cvip:K), the seed split into batches is the noise left: a node's epoch counts x_1..x_K
// differ from epoch to epoch, and their mean r = score is off by a sampling variance
// s^2(u) = (mean x^2 - r^2) / (K - 1). Nodes of similar row length read at similar rates, so bins of
// them (whole row lengths, at least kCvipMinBinNodes reached nodes a bin) give a prior: mean mu and
// spread tau^2 = var(r) - mean s^2 of the bin. The posterior mean of the rate is
// mu + w (r - mu), w = tau^2 / (tau^2 + mean s^2): each bin keeps its total, and a node moves towards
// its bin's mean as far as the epochs disagree about it. Nodes whose epochs agree exactly (seeds,
// nodes only certain members reach) keep r and stay out of the bins. On the recorded graphs
// (bench/results/traffic/summary.md, 5-40% cells): facebook_page's worst cells 95.7-98.4% ->
// 96.5-98.8% of the oracle (up to +1.2 points), 28 of 160 cells better by more than 0.05 points, 8
// worse by 0.05-0.10 (email-Enron, facebook_page directed); cvip:2 and cvip:4 likewise. With one epoch
// (every seed once) the epoch-to-epoch noise cannot be measured, and the batch-to-batch spread is
// not noise (a node near one seed is read in exactly one batch an epoch): shrinking by it lost up to
// 7 points on cnr-2000 (tried).
//
// Shrinkage within one epoch. What can be measured there is the noise of the soft hops' row
// samples. An entry read with probability pi = m / deg multiplies its node's miss by f, a factor
// g = f^I, I ~ Bernoulli(pi), of variance pi (1 - pi) (1 - f)^2; the product's variance is near the
// sum of each factor's times the others' squares, which for a factor read is miss^2 / f^2. So each
// entry read adds ((1 - f) / f)^2 (1 - pi) to a sum that, times miss^2 (and (1 - p)^2 for an earlier
// hop's probability p), is an unbiased estimate of that hop's variance; at the end of a hop the
// variance of the new probability 1 - (1 - p) miss is miss^2 var(p) + ((1 - p) miss)^2 lv, and the
// last hop's is added to the count's. A soft expander's own p is noisy as well, and every entry it
// reads carries that noise (1 - f = p k / m): with the hop's mean relative variance
// rho = sum var(p) / sum p^2 over the followed nodes, an entry read adds ((1 - f) / f)^2 (1 - pi + rho).
// Left out: the sampled hops' draws, and how one expander's noise is shared by the nodes it reads
// (test: the estimate is the measured spread with one hop, 1.2 of it with two; 0.9 without rho).
// Bins and weights are those above, with two changes: every node is in its bin, reached or not (a
// node no sampled batch reached has rate 0 by chance as much as a reached one has its rate by
// chance: at a 20% cache these nodes decide), and the bin's noise is the mean over the nodes whose
// noise is followed: one node in kNoiseBlock = 16 ids (at a position within its block that a hash
// picks), on every 4th batch of the epoch (the batches are alike: their seeds are a random split),
// scaled to all. On the R-MAT of 268M arcs (fanouts 15,10,5) the 5/10/20% cells went from
// 97.9/96.4/96.2% of the oracle to 99.2/98.0/97.6 (cvip:2: 99.4/98.2/97.6); on the billion-arc R-MAT
// the 2/5/10% cells from 95.9/93.1/94.0 to 97.8/96.4/95.6 (degree: 97.9/96.3/95.5: below it by at
// most 0.1 points at any cache size, where the gap was 3.2); on the recorded graphs the worst cell
// moved by +0.00..+0.17 points (mean +0.03; rows there are short enough that little is subsampled,
// and bins of in-degree say less about a web crawl's reads). Cost: about 10% more time on the R-MAT
// (following one node in 16 on a quarter of the batches; following every node in every batch cost
// 50%). With it the last hop's R could drop to 2 on R-MATs at no loss there, but that lost 0.1-0.4
// points on the recorded three-hop settings (slashdot 99.1 -> 98.7) for 18% less time: R stays 4.
//
// Cost. Each expander reads up to R k entries of its row and multiplies a float; no random draws
// except one per long row. The soft sets are wider than the sampled frontiers (2.3-5x the entries a
// presampling epoch draws on the recorded graphs, 7.7x on an R-MAT with fanouts 15,10,5: 9.3x with
// all three hops soft), but an entry costs less than a sampled draw (Floyd's selection, a
// counter-based random number, a bitmap test). On graphs larger than the caches the cost is memory
// latency: a row's bounds, its entries and each listed node's soft state are at random places, so
// soft_hop prefetches rows and states ahead of the expanders and reads the last hop's long rows as
// windows (the last hop reads most of the entries). An epoch of cvip costs 0.83-1.28 presampling
// epochs on the recorded graphs where it samples one epoch (timings of a few milliseconds; 1.8-3.0
// in all on the few-batch graphs, which need 2-3 epochs to reach 8 batches;
// bench/results/traffic/summary.md), ~2.2 on an R-MAT of 268M arcs (1.14 s against presample:1's
// 0.53 s on one thread; 1.47 s with all hops soft, 3.17 s before the prefetches and windows) and
// 2.1 on the billion-arc R-MAT (1.40 s against 0.68 s; 1.59 as the wall time of `tiergnn profile`;
// bench/results/scale/profile_rmat25.md).
//
// Ties. Nodes that no sampled batch reached score 0 (unless shrinkage within an epoch gave them their
// bin's share), and saturated nodes tie at the batch count; both are ordered by row length
// (in-degree; the degree on undirected graphs), which costs nothing (indptr). On the billion-arc
// R-MAT with 17 batches an epoch this took the 20% cache from 92.4% to 96.0% of the oracle (before
// the shrinkage within an epoch); on the five recorded graphs it changed nothing measurable.
//
// Determinism. A batch runs on one thread in a fixed order (seeds, then rows in member order); its
// contribution to each node is rounded to a 2^-20 fixed-point integer and added with integer
// atomics, so the scores are identical for any thread count and schedule.
//
// Memory: per worker a bitmap and two floats per node (8.125 bytes per node) and, within an
// epoch, two floats per followed node (0.5 bytes per node; count_batches runs fewer workers when
// they would need more than an eighth of usable memory), plus the counts and the scores (16 bytes
// per node) and either the epoch moments (two or more whole epochs, 16 bytes per node) or the
// followed nodes' variances (0.5 bytes per node) and the shrinkage's per-chunk bin sums (at most 64
// chunks x bins x 40 bytes); nothing proportional to E. Measured on the billion-arc R-MAT with
// 2 threads: 35 bytes per node of anonymous memory (bench/results/scale/profile_rmat25.md).
//
// Against hybrid (bench/results/traffic/summary.md, 40 settings): cvip:2 matches hybrid's mean of
// the worst 5-40% cell (98.6%) at a median 2.3 presampling epochs against hybrid's 5.2; cvip:4
// reaches 98.9% at 3.7.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include <algorithm>
#include <limits>

#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

namespace {

// Row-length bin keys: exact below 4096, then 64 keys per octave.
std::int64_t length_key(std::int64_t d) {
  if (d < 4096) return d;
  const int bits = 64 - __builtin_clzll(static_cast<unsigned long long>(d));  // >= 13
  return 4096 + 64 * (bits - 13) + ((d >> (bits - 7)) & 63);
}

// Empirical-Bayes shrinkage (derivation at the top of this file). For each node u of the population,
// rate(u, &r) gives its rate and returns true; noise(u, &s2) gives the sampling variance of r where
// it is known (every node across epochs; one node in kNoiseBlock within an epoch) and returns true.
// Bins of whole row-length keys in ascending order close once they hold kCvipMinBinNodes nodes of
// known noise (a short last bin joins the one before). Each population node's score becomes
// mu_b + w_b (r - mu_b) in its bin b: mu_b the bin's mean rate, w_b = tau^2 / (tau^2 + s^2) with
// s^2 the bin's mean known noise and tau^2 = var(r) - s^2 the spread of true rates. Every sum runs
// over fixed chunks of ids and is added in chunk order: the same result for any thread count.
template <typename Rate, typename Noise>
nlohmann::json shrink_to_bins(const graph_ref& g, std::int64_t max_deg, Rate rate, Noise noise, estimate* out) {
  const std::int64_t n = g.num_nodes;
  // Fixed chunks of at least 2^16 ids (at most 64); keys up to the longest row's.
  const std::int64_t kChunks = std::clamp<std::int64_t>((n >> 16) + 1, 1, 64);
  const std::int64_t chunk = (n + kChunks - 1) / kChunks;
  const std::int64_t num_keys = length_key(max_deg) + 1;
  // Nodes of known noise per key (integers: any order gives the same sums).
  std::vector<std::vector<std::int64_t>> known_per_chunk(static_cast<std::size_t>(kChunks));
  tbb::parallel_for(std::int64_t{0}, kChunks, [&](std::int64_t ch) {
    auto& kc = known_per_chunk[static_cast<std::size_t>(ch)];
    kc.assign(static_cast<std::size_t>(num_keys), 0);
    double r = 0, s2 = 0;
    for (std::int64_t u = ch * chunk; u < std::min(n, (ch + 1) * chunk); ++u)
      if (rate(u, &r) && noise(u, &s2)) ++kc[static_cast<std::size_t>(length_key(g.in_degree(u)))];
  });
  std::vector<std::int32_t> bin_of_key(static_cast<std::size_t>(num_keys), 0);
  std::int32_t bins = 0;
  std::int64_t filled = 0, last_closed_key = -1;
  for (std::int64_t key = 0; key < num_keys; ++key) {
    bin_of_key[static_cast<std::size_t>(key)] = bins;
    for (const auto& kc : known_per_chunk) filled += kc[static_cast<std::size_t>(key)];
    if (filled >= kCvipMinBinNodes) {
      ++bins;
      filled = 0;
      last_closed_key = key;
    }
  }
  if (bins == 0) return {{"bins", 0}};  // too few nodes of known noise to estimate anything
  // The keys after the last closed bin join it: a short tail of known noise, and (within an epoch,
  // where every node is in the population but noise is known for one in kNoiseBlock) the longest
  // rows' keys that hold no node of known noise at all (those indexed one bin past the end: R9-3).
  for (std::int64_t key = last_closed_key + 1; key < num_keys; ++key)
    bin_of_key[static_cast<std::size_t>(key)] = bins - 1;
  // Per bin: the population's count, rates and squares; the known noises and their count.
  struct moments {
    double n = 0, r = 0, r2 = 0, noise = 0, known = 0;
  };
  std::vector<std::vector<moments>> part(static_cast<std::size_t>(kChunks));
  tbb::parallel_for(std::int64_t{0}, kChunks, [&](std::int64_t ch) {
    auto& mc = part[static_cast<std::size_t>(ch)];
    mc.assign(static_cast<std::size_t>(bins), moments{});
    double r = 0, s2 = 0;
    for (std::int64_t u = ch * chunk; u < std::min(n, (ch + 1) * chunk); ++u) {
      if (!rate(u, &r)) continue;
      moments& b = mc[static_cast<std::size_t>(bin_of_key[static_cast<std::size_t>(length_key(g.in_degree(u)))])];
      b.n += 1;
      b.r += r;
      b.r2 += r * r;
      if (noise(u, &s2)) {
        b.noise += s2;
        b.known += 1;
      }
    }
  });
  std::vector<moments> m(static_cast<std::size_t>(bins));
  for (const auto& mc : part)
    for (std::size_t b = 0; b < m.size(); ++b) {
      m[b].n += mc[b].n;
      m[b].r += mc[b].r;
      m[b].r2 += mc[b].r2;
      m[b].noise += mc[b].noise;
      m[b].known += mc[b].known;
    }
  std::vector<double> mu(static_cast<std::size_t>(bins)), w(static_cast<std::size_t>(bins));
  double mean_w = 0;
  for (std::size_t b = 0; b < m.size(); ++b) {
    mu[b] = m[b].r / m[b].n;
    const double var = std::max(0.0, m[b].r2 / m[b].n - mu[b] * mu[b]);
    const double s2 = m[b].known > 0 ? m[b].noise / m[b].known : 0.0;
    const double tau2 = std::max(0.0, var - s2);
    w[b] = s2 > 0 ? tau2 / (tau2 + s2) : 1.0;
    mean_w += w[b] / static_cast<double>(m.size());
  }
  tbb::parallel_for(std::int64_t{0}, kChunks, [&](std::int64_t ch) {
    double r = 0;
    for (std::int64_t u = ch * chunk; u < std::min(n, (ch + 1) * chunk); ++u)
      if (rate(u, &r)) {
        const auto b = static_cast<std::size_t>(bin_of_key[static_cast<std::size_t>(length_key(g.in_degree(u)))]);
        out->score[static_cast<std::size_t>(u)] = mu[b] + w[b] * (r - mu[b]);
      }
  });
  return {{"bins", bins}, {"mean_weight", mean_w}};
}

// Across whole epochs: the population is the reached nodes whose epochs disagree, with their
// epoch-mean rate r and its sampling variance (mean of x^2 - r^2) / (K - 1). Where every epoch
// read a node equally often (seeds, nodes only certain members reach) its rate is taken as
// measured and kept out of the bins.
nlohmann::json shrink_across_epochs(const graph_ref& g, std::int64_t max_deg, const batch_counts& c, estimate* out) {
  const double k = static_cast<double>(c.whole_epochs);
  const double to_rate = 1.0 / (static_cast<double>(c.unit) * k), inv_k = 1.0 / k, inv_k1 = 1.0 / (k - 1);
  auto noise = [&](std::int64_t u, double* s2) {
    const double r = static_cast<double>(c.count[static_cast<std::size_t>(u)]) * to_rate;
    *s2 = std::max(0.0, c.epoch_sq[static_cast<std::size_t>(u)] * inv_k - r * r) * inv_k1;
    return true;
  };
  auto rate = [&](std::int64_t u, double* r) {
    const std::int64_t cu = c.count[static_cast<std::size_t>(u)];
    if (cu <= 0) return false;
    *r = static_cast<double>(cu) * to_rate;
    double s2 = 0;
    noise(u, &s2);
    return s2 > 1e-12 * *r * *r;
  };
  nlohmann::json res = shrink_to_bins(g, max_deg, rate, noise, out);
  res["epochs"] = c.whole_epochs;
  return res;
}

// Within the sampled batches (one epoch, or part of one): every node is in the population,
// reached or not (a node no sampled batch reached has rate 0 by chance as much as a reached one
// has its rate by chance), and the noise is that of the soft hops' row samples, known for one node
// in kNoiseBlock (batch_counts::noise).
nlohmann::json shrink_within_epoch(const graph_ref& g, std::int64_t max_deg, const profile_config& cfg,
                                   const batch_counts& c, estimate* out) {
  const double epochs =
      static_cast<double>(c.batches) / static_cast<double>(std::max<std::int64_t>(1, trained_batches_per_epoch(cfg)));
  const double to_rate = 1.0 / (static_cast<double>(c.unit) * epochs), to_var = 1.0 / (epochs * epochs);
  auto rate = [&](std::int64_t u, double* r) {
    *r = static_cast<double>(c.count[static_cast<std::size_t>(u)]) * to_rate;
    return true;
  };
  auto noise = [&](std::int64_t u, double* s2) {
    if (!noise_followed(u)) return false;
    *s2 = c.noise[static_cast<std::size_t>(u >> kNoiseBlockShift)] * to_var;
    return true;
  };
  nlohmann::json res = shrink_to_bins(g, max_deg, rate, noise, out);
  res["noise"] = "row samples of the soft hops";
  return res;
}

}  // namespace

estimate estimate_cvip(const graph_ref& g, const profile_config& cfg, double epochs) {
  const std::uint64_t seed = cfg.seed ^ kPresampleTag;
  const std::int64_t nb = trained_batches_per_epoch(cfg);
  sampling_budget budget;
  budget.max_batches = presample_batches(cfg, epochs);
  // Whole epochs up to at least kCvipMinBatches batches (never a part of one).
  if (budget.max_batches < kCvipMinBatches && nb > 0)
    budget.max_batches = std::max(budget.max_batches, (kCvipMinBatches + nb - 1) / nb * nb);
  budget.soft_hops = std::min<std::int64_t>(kCvipSoftHops, static_cast<std::int64_t>(cfg.fanouts.size()));
  budget.soft_rows = kCvipSoftRows;
  budget.soft_rows_last =
      static_cast<std::int64_t>(cfg.fanouts.size()) > kCvipSoftHops ? kCvipLastSoftRows : kCvipAllSoftLastRows;
  budget.epoch_moments = nb > 0 && budget.max_batches >= 2 * nb;
  budget.window_noise = !budget.epoch_moments;
  const batch_counts c = count_batches(g, cfg, seed, budget, "presampling (cvip)");
  estimate out = scores_from_counts(g, cfg, c);
  const std::int64_t max_deg = tbb::parallel_reduce(
      tbb::blocked_range<std::int64_t>(0, g.num_nodes), std::int64_t{1},
      [&](const tbb::blocked_range<std::int64_t>& r, std::int64_t m) {
        for (std::int64_t u = r.begin(); u < r.end(); ++u) m = std::max(m, g.in_degree(u));
        return m;
      },
      [](std::int64_t x, std::int64_t y) { return std::max(x, y); });
  if (c.whole_epochs >= 2 && c.batches == c.whole_epochs * nb)
    out.details["shrinkage"] = shrink_across_epochs(g, max_deg, c, &out);
  else if (!c.noise.empty() && c.batches > 0)
    out.details["shrinkage"] = shrink_within_epoch(g, max_deg, cfg, c, &out);
  // Ties, and nodes no sampled batch reached, go by row length (free from indptr): a relative
  // nudge below 1e-9 on positive scores, and 1e-15 x relative row length below every positive
  // score (the smallest is 2^-20 per batch) for the unreached.
  if (c.batches > 0)  // no training node, no reads: every score stays 0
    tbb::parallel_for(std::int64_t{0}, g.num_nodes, [&](std::int64_t u) {
      const double q = static_cast<double>(g.in_degree(u)) / static_cast<double>(max_deg);
      double& sc = out.score[static_cast<std::size_t>(u)];
      sc = sc > 0 ? sc * (1.0 + 1e-10 * q) : 1e-15 * q;
    });
  out.details["seed"] = seed;
  out.details["soft_hops"] = budget.soft_hops;
  out.details["soft_rows"] = budget.soft_rows;
  out.details["soft_rows_last"] = budget.soft_rows_last;
  out.details["read_entries"] = c.sampled_edges;
  return out;
}

}  // namespace tg::estimators
