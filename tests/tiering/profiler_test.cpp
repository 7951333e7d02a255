// Tests of the access profiler (tiering/profiler.hpp): hand-checked scores on a 5-node graph, the
// oracle against a replay of the trainer's own batches through neighbor_sampler, presample against
// the oracle, vip against sampled frequencies on random graphs, the hybrid's quality, thread-count
// independence, and rejected specs and configurations.
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "sampler/batcher.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "test_util.hpp"
#include "tiering/estimators/estimators.hpp"
#include "tiering/plan.hpp"
#include "tiering/profiler.hpp"

using namespace tg;
using tg::test::scratch_dir;

namespace {

// In-neighbour CSR of a graph, as the dataset stores it.
struct graph {
  std::int64_t n = 0;
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int64_t> indices;
};

std::string write_dataset(const scratch_dir& d, const std::string& name, const graph& g, bool directed = true,
                          bool int64_indices = false) {
  dataset_writer w(d / name);
  w.put("indptr.npy", g.indptr);
  if (int64_indices) {
    w.put("indices.npy", g.indices);
  } else {
    std::vector<std::int32_t> idx(g.indices.begin(), g.indices.end());
    w.put("indices.npy", idx);
  }
  auto& m = w.meta();
  m.name = name;
  m.num_nodes = g.n;
  m.num_edges = static_cast<std::int64_t>(g.indices.size());
  m.directed = directed;
  m.index_dtype = int64_indices ? dtype::int64 : dtype::int32;
  return w.commit();
}

// 5 nodes; rows (in-neighbours): 0:[1,2] 1:[2,3,4] 2:[3] 3:[] 4:[0].
graph tiny_graph() {
  graph g;
  g.n = 5;
  g.indptr = {0, 2, 5, 6, 6, 7};
  g.indices = {1, 2, 2, 3, 4, 3, 0};
  return g;
}

// Random directed graph: node v gets a uniform number of distinct in-neighbours in [0, max_deg],
// and every `hub_every`-th node many more, so rows exercise both deg <= fanout and deg > fanout.
// With `clustered`, in-neighbours of non-hubs are drawn from v's block of 3 * max_deg ids (dense
// local clusters, like a web crawl); otherwise from all nodes (few short cycles: the independence
// regime).
graph random_graph(std::int64_t n, std::int64_t max_deg, std::uint64_t seed, bool clustered = false,
                   std::int64_t hub_every = 0) {
  const counter_rng rng(seed, 0);
  graph g;
  g.n = n;
  std::uint64_t pos = 0;
  for (std::int64_t v = 0; v < n; ++v) {
    std::int64_t deg = static_cast<std::int64_t>(rng.below(pos++, static_cast<std::uint64_t>(max_deg + 1)));
    const bool hub = hub_every > 0 && v % hub_every == 0;
    if (hub) deg = std::min<std::int64_t>(n / 4, 10 * max_deg);
    std::set<std::int64_t> nb;
    while (static_cast<std::int64_t>(nb.size()) < deg) {
      std::int64_t u;
      if (clustered && !hub) {  // hubs link across clusters
        const std::int64_t w = 3 * max_deg;
        u = std::min((v / w) * w, n - w) + static_cast<std::int64_t>(rng.below(pos++, static_cast<std::uint64_t>(w)));
      } else {
        u = static_cast<std::int64_t>(rng.below(pos++, static_cast<std::uint64_t>(n)));
      }
      if (u != v) nb.insert(u);
    }
    g.indices.insert(g.indices.end(), nb.begin(), nb.end());
    g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));
  }
  return g;
}

// Both directions of every edge of g, rows sorted and de-duplicated (what `import --undirected` stores).
graph symmetrize(const graph& g) {
  std::vector<std::set<std::int64_t>> rows(static_cast<std::size_t>(g.n));
  for (std::int64_t v = 0; v < g.n; ++v)
    for (std::int64_t e = g.indptr[v]; e < g.indptr[v + 1]; ++e) {
      rows[static_cast<std::size_t>(v)].insert(g.indices[e]);
      rows[static_cast<std::size_t>(g.indices[e])].insert(v);
    }
  graph s;
  s.n = g.n;
  for (const auto& r : rows) {
    s.indices.insert(s.indices.end(), r.begin(), r.end());
    s.indptr.push_back(static_cast<std::int64_t>(s.indices.size()));
  }
  return s;
}

std::vector<std::int64_t> every_kth(std::int64_t n, std::int64_t k, std::int64_t offset = 0) {
  std::vector<std::int64_t> ids;
  for (std::int64_t i = offset; i < n; i += k) ids.push_back(i);
  return ids;
}

// Hit rate of caching the top `k` nodes of `score` (ties by id), weighted by `truth`.
double hit_rate(const std::vector<double>& score, const std::vector<double>& truth, std::size_t k) {
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  double hit = 0, total = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    total += truth[order[i]];
    if (i < k) hit += truth[order[i]];
  }
  return hit / total;
}

// A symmetric clustered graph (6000 nodes, dense blocks, hubs linking them) with every 10th node
// training in 12 batches of 50, 2 hops of 5, 100 epochs: vip over-counts inside the clusters there.
graph clustered_graph() {
  return symmetrize(random_graph(6000, 8, 21, true, 300));
}
profile_config clustered_config() {
  profile_config cfg;
  cfg.train_ids = every_kth(6000, 10, 3);
  cfg.fanouts = {5, 5};
  cfg.batch_size = 50;
  cfg.seed = 8;
  cfg.run_epochs = 100;
  return cfg;
}

}  // namespace

TEST(Profiler, DegreeIsOutDegreeInTheInNeighbourCsr) {
  scratch_dir d;
  const dataset ds = dataset::open(write_dataset(d, "tiny", tiny_graph()));
  profile_config cfg;
  cfg.train_ids = {0, 1};
  cfg.fanouts = {2, 1};
  const profile_result r = profile(ds, cfg, "degree");
  // Occurrences in indices {1,2, 2,3,4, 3, 0}; row lengths would be {2,3,1,0,1}.
  EXPECT_EQ(r.score, (std::vector<double>{1, 1, 2, 2, 1}));
  EXPECT_EQ(r.edge_passes, 1);
  EXPECT_EQ(r.estimator, "degree");
}

TEST(Profiler, WrprMatchesHandComputation) {
  scratch_dir d;
  const dataset ds = dataset::open(write_dataset(d, "tiny", tiny_graph()));
  profile_config cfg;
  cfg.train_ids = {0, 1};
  cfg.fanouts = {2, 1};
  // x0 = [1,1,0,0,0]. Hop 1 (f=2, keep = min(1, 2/deg) = [1, 2/3, 1, -, 1]):
  // x1 = [0, 1, 1+2/3, 2/3, 2/3]. Hop 2 (f=1, keep = [1/2, 1/3, 1, -, 1]):
  // w = x1*keep = [0, 1/3, 5/3, 0, 2/3] -> x2 = [w4, w0, w0+w1, w1+w2, w1] = [2/3, 0, 1/3, 2, 1/3].
  const std::vector<double> expect{1 + 2.0 / 3, 2, 2, 8.0 / 3, 1};
  const profile_result r = profile(ds, cfg, "wrpr");
  ASSERT_EQ(r.score.size(), expect.size());
  for (std::size_t u = 0; u < expect.size(); ++u) EXPECT_NEAR(r.score[u], expect[u], 1e-12) << u;
  EXPECT_EQ(r.edge_passes, 2 + 2) << "2 mat-vecs plus the transpose of a directed graph";
}

// R10-2: with fanout -1 the mass grows like degree^hops; 130 hops on a 300-clique overflowed to inf
// (every score inf, NaN hit rates, a plan.json nothing could read). The scores stay finite and keep
// the ranking: here a star's hub above its leaves, the leaves equal.
TEST(Profiler, WrprStaysFiniteWithManyHops) {
  scratch_dir d;
  graph g;  // 300-clique plus node 300, listed by every clique node
  const std::int64_t c = 300;
  g.n = c + 1;
  for (std::int64_t v = 0; v < c; ++v) {
    for (std::int64_t u = 0; u <= c; ++u)
      if (u != v) g.indices.push_back(u);
    g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));
  }
  g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));  // node 300: empty row
  const dataset ds = dataset::open(write_dataset(d, "clique", g));
  profile_config cfg;
  for (std::int64_t v = 0; v < c; ++v) cfg.train_ids.push_back(v);
  cfg.fanouts.assign(130, -1);
  cfg.batch_size = 64;
  const profile_result r = profile(ds, cfg, "wrpr");
  for (double x : r.score) ASSERT_TRUE(std::isfinite(x)) << x;
  EXPECT_GT(r.score[0], 0);
  EXPECT_EQ(r.details.value("rescaled", false), true);
  // Node 300 is listed by every clique node (300 rows) where a clique node is listed by 299: hotter.
  EXPECT_GT(r.score[c], r.score[0]);
  EXPECT_DOUBLE_EQ(r.score[1], r.score[2]);
}

TEST(Profiler, VipMatchesHandComputationAndSampling) {
  scratch_dir d;
  const dataset ds = dataset::open(write_dataset(d, "tiny", tiny_graph()));
  profile_config cfg;
  cfg.train_ids = {0, 1};
  cfg.fanouts = {2, 1};
  cfg.batch_size = 2;  // one batch per epoch holding both seeds
  // Seeds {0,1}; hop 1 takes 1 and 2 from row 0 and two of {2,3,4} from row 1; hop 2 draws one
  // entry per destination, and 2 always draws 3. Node 4 is missed only if hop 1 skips it (1/3) and
  // node 1 does not draw it at hop 2 (2/3): P = 1 - 2/9 = 7/9. Every other node is always read.
  const std::vector<double> expect{1, 1, 1, 1, 7.0 / 9};
  const profile_result v = profile(ds, cfg, "vip");
  for (std::size_t u = 0; u < expect.size(); ++u) EXPECT_NEAR(v.score[u], expect[u], 1e-12) << u;
  cfg.run_epochs = 4000;
  const profile_result o = profile(ds, cfg, "oracle");
  // Binomial(4000, 7/9): sd 0.0066; 5 sd.
  for (std::size_t u = 0; u < expect.size(); ++u) EXPECT_NEAR(o.score[u], expect[u], 0.033) << u;
}

TEST(Profiler, OracleEqualsTheTrainersOwnBatches) {
  scratch_dir d;
  const graph g = random_graph(1500, 12, 7, false, 97);
  for (bool wide : {false, true}) {
    const dataset ds = dataset::open(write_dataset(d, wide ? "g64" : "g32", g, true, wide));
    profile_config cfg;
    cfg.train_ids = every_kth(g.n, 5, 2);
    cfg.fanouts = {6, 4, 3};
    cfg.batch_size = 64;  // 300 ids: 4 full batches and one of 44
    cfg.seed = 99;
    cfg.run_epochs = 3;
    const profile_result r = profile(ds, cfg, "oracle");
    // Replay what train/trainer.cpp does.
    neighbor_sampler s(ds, cfg.fanouts, cfg.seed);
    sampled_batch sb;
    std::vector<std::int64_t> count(static_cast<std::size_t>(g.n), 0);
    for (std::int64_t e = 0; e < cfg.run_epochs; ++e) {
      const batch_plan plan = plan_epoch(span<const std::int64_t>(cfg.train_ids), cfg.batch_size, cfg.seed, e);
      for (std::int64_t b = 0; b < plan.num_batches(); ++b) {
        s.sample(plan.batch(b), e, b, &sb);
        for (std::int64_t u : sb.input_nodes()) ++count[static_cast<std::size_t>(u)];
      }
    }
    std::vector<double> expect(count.size());
    for (std::size_t u = 0; u < count.size(); ++u) expect[u] = static_cast<double>(count[u]) / cfg.run_epochs;
    EXPECT_EQ(r.score, expect) << (wide ? "int64" : "int32") << " indices";
    EXPECT_EQ(r.details["batches"], 15);
  }
}

// train --max-batches N trains the first N batches of every epoch: the oracle counts exactly those,
// analytic scores scale by N / batches per epoch, presampling samples only those batches.
TEST(Profiler, MaxBatchesProfilesTheFirstBatchesOfEachEpoch) {
  scratch_dir d;
  const graph g = random_graph(1500, 12, 7, false, 97);
  const dataset ds = dataset::open(write_dataset(d, "g", g, true));
  profile_config cfg;
  cfg.train_ids = every_kth(g.n, 5, 2);
  cfg.fanouts = {6, 4, 3};
  cfg.batch_size = 64;  // 5 batches an epoch
  cfg.seed = 99;
  cfg.run_epochs = 3;
  const profile_result vip_all = profile(ds, cfg, "vip");
  const profile_result wrpr_all = profile(ds, cfg, "wrpr");
  cfg.max_batches = 2;
  const profile_result r = profile(ds, cfg, "oracle");
  neighbor_sampler s(ds, cfg.fanouts, cfg.seed);
  sampled_batch sb;
  std::vector<double> expect(static_cast<std::size_t>(g.n), 0.0);
  for (std::int64_t e = 0; e < cfg.run_epochs; ++e) {
    const batch_plan plan = plan_epoch(span<const std::int64_t>(cfg.train_ids), cfg.batch_size, cfg.seed, e);
    for (std::int64_t b = 0; b < 2; ++b) {
      s.sample(plan.batch(b), e, b, &sb);
      for (std::int64_t u : sb.input_nodes()) expect[static_cast<std::size_t>(u)] += 1.0 / cfg.run_epochs;
    }
  }
  ASSERT_EQ(r.score.size(), expect.size());
  for (std::size_t u = 0; u < expect.size(); ++u) EXPECT_NEAR(r.score[u], expect[u], 1e-12) << u;
  EXPECT_EQ(r.details["batches"], 6);
  const profile_result v = profile(ds, cfg, "vip");
  const profile_result w = profile(ds, cfg, "wrpr");
  for (std::size_t u = 0; u < expect.size(); ++u) {
    EXPECT_NEAR(v.score[u], vip_all.score[u] * 2 / 5, 1e-12) << u;
    EXPECT_NEAR(w.score[u], wrpr_all.score[u] * 2 / 5, 1e-12) << u;
  }
  EXPECT_EQ(profile(ds, cfg, "presample:1").details["batches"], 2);
  EXPECT_EQ(profile(ds, cfg, "presample:2.5").details["batches"], 5);
  cfg.max_batches = 50;  // more than an epoch has: all of them
  EXPECT_EQ(profile(ds, cfg, "oracle").details["batches"], 15);
  cfg.max_batches = -1;
  EXPECT_THROW(profile(ds, cfg, "vip"), input_error);
}

TEST(Profiler, PresampleApproximatesTheOracleWithoutReplayingIt) {
  scratch_dir d;
  const graph g = random_graph(800, 10, 3, true, 50);
  const dataset ds = dataset::open(write_dataset(d, "g", g));
  profile_config cfg;
  cfg.train_ids = every_kth(g.n, 4);
  cfg.fanouts = {5, 5};
  cfg.batch_size = 25;  // 8 batches
  cfg.seed = 5;
  cfg.run_epochs = 200;
  const profile_result o = profile(ds, cfg, "oracle");
  const profile_result p = profile(ds, cfg, "presample:200");
  EXPECT_NE(p.score, o.score) << "presampling must use its own seed stream";
  // Both estimate 8 * P(u in a batch) from 1600 batches: sd of each <= 8 * sqrt(0.25 / 1600) = 0.1,
  // of the difference <= 0.14. Allow 5 sd for the worst of 800 nodes, and check the mean tightly.
  double worst = 0, mean = 0;
  for (std::size_t u = 0; u < o.score.size(); ++u) {
    worst = std::max(worst, std::abs(p.score[u] - o.score[u]));
    mean += std::abs(p.score[u] - o.score[u]) / static_cast<double>(o.score.size());
  }
  EXPECT_LT(worst, 0.7);
  EXPECT_LT(mean, 0.12);
  EXPECT_GT(hit_rate(p.score, o.score, 80), 0.98 * hit_rate(o.score, o.score, 80));
  // A fraction of an epoch samples the first batches: 0.5 epoch = 4 batches.
  EXPECT_EQ(profile(ds, cfg, "presample:0.5").details["batches"], 4);
}

// vip's independence approximation is exact on the tiny graph above; on random graphs with few
// short cycles it should track sampled frequencies closely. Measured here (1600 nodes, 320
// training ids in 8 batches, 2000 presampled epochs = 16000 batches, so sampling noise is at most
// 8 * sqrt(0.25 / 16000) = 0.032 per node): mean |vip - frequency| 0.011-0.020 batches per epoch
// (of 8), 99th percentile 0.09-0.15, total within 0.15%; the worst node is off by 0.5-0.86 — a
// node on a short directed cycle (u reaches v, v lists u: the approximation treats "v present" and
// "u present" as independent, though v is present because u is). Tolerances: mean 0.03, 99th
// percentile 0.25, worst 1.2, total 0.5%.
TEST(Profiler, VipTracksSampledFrequenciesOnRandomGraphs) {
  scratch_dir d;
  int id = 0;
  for (std::uint64_t seed : {11u, 12u}) {
    const graph g = random_graph(1600, 6, seed);
    const dataset ds = dataset::open(write_dataset(d, "g" + std::to_string(id++), g));
    for (const std::vector<std::int64_t>& fanouts :
         {std::vector<std::int64_t>{4, 3}, std::vector<std::int64_t>{3, 2, 2}}) {
      profile_config cfg;
      cfg.train_ids = every_kth(g.n, 5, 1);
      cfg.fanouts = fanouts;
      cfg.batch_size = 40;  // 8 batches
      cfg.seed = seed;
      const profile_result v = profile(ds, cfg, "vip");
      const profile_result p = profile(ds, cfg, "presample:2000");
      std::vector<double> diff(v.score.size());
      double sum_v = 0, sum_p = 0;
      for (std::size_t u = 0; u < v.score.size(); ++u) {
        diff[u] = std::abs(v.score[u] - p.score[u]);
        sum_v += v.score[u];
        sum_p += p.score[u];
      }
      const double mean = std::accumulate(diff.begin(), diff.end(), 0.0) / static_cast<double>(diff.size());
      std::sort(diff.begin(), diff.end());
      const double p99 = diff[diff.size() * 99 / 100], worst = diff.back();
      const std::string where = "seed " + std::to_string(seed) + ", " + std::to_string(fanouts.size()) + " hops";
      EXPECT_LT(mean, 0.03) << where;
      EXPECT_LT(p99, 0.25) << where;
      EXPECT_LT(worst, 1.2) << where;
      EXPECT_NEAR(sum_v / sum_p, 1.0, 0.005) << where;
    }
  }
}

// On clustered graphs vip over-counts (seeds' trees overlap inside clusters) and presampling is
// noisy; the hybrid should rank at least as well as either, measured against a long run. (On this
// small graph, whose hotness is flat, all three reach 93-95% of the 100-epoch oracle; the real
// graphs are in bench/estimator_bench.cpp.)
TEST(Profiler, HybridRanksAtLeastAsWellAsVipAndAShortPresample) {
  scratch_dir d;
  const dataset ds = dataset::open(write_dataset(d, "g", clustered_graph(), false));
  const profile_config cfg = clustered_config();
  const profile_result o = profile(ds, cfg, "oracle");
  const profile_result h = profile(ds, cfg, "hybrid");
  const profile_result v = profile(ds, cfg, "vip");
  const std::int64_t batches = h.details["presample_batches"];
  const profile_result p = profile(ds, cfg, "presample:" + std::to_string(static_cast<double>(batches) / 12));
  EXPECT_EQ(p.details["batches"], batches);
  for (std::size_t k : {300u, 600u, 1200u}) {
    const double best = hit_rate(o.score, o.score, k);
    EXPECT_GE(hit_rate(h.score, o.score, k), hit_rate(v.score, o.score, k) - 0.002 * best) << k;
    EXPECT_GE(hit_rate(h.score, o.score, k), hit_rate(p.score, o.score, k) - 0.002 * best) << k;
    EXPECT_GT(hit_rate(h.score, o.score, k), 0.92 * best) << k;
  }
  // Scores are in batches per epoch, like the oracle's.
  const double sum_h = std::accumulate(h.score.begin(), h.score.end(), 0.0);
  const double sum_o = std::accumulate(o.score.begin(), o.score.end(), 0.0);
  EXPECT_NEAR(sum_h / sum_o, 1.0, 0.05);
}

// cvip is vip computed per presampled batch given its seeds. On the tiny graph with one batch per
// epoch (seeds {0, 1}) that is exact: one hop reads 3 and 4 with probability 2/3 each (row 1 keeps
// 2 of 3 entries); two hops read 4 with 7/9, as in the vip test above. The scores are fixed-point
// (2^-20 per batch).
TEST(Profiler, CvipIsExactGivenTheSeeds) {
  scratch_dir d;
  const dataset ds = dataset::open(write_dataset(d, "tiny", tiny_graph()));
  profile_config cfg;
  cfg.train_ids = {0, 1};
  cfg.batch_size = 2;
  cfg.fanouts = {2};
  const profile_result one = profile(ds, cfg, "cvip");
  const std::vector<double> expect1{1, 1, 1, 2.0 / 3, 2.0 / 3};
  for (std::size_t u = 0; u < expect1.size(); ++u) EXPECT_NEAR(one.score[u], expect1[u], 1e-6) << u;
  EXPECT_EQ(one.details["batches"], 8) << "at least 8 batches, in whole epochs";
  cfg.fanouts = {2, 1};
  const profile_result two = profile(ds, cfg, "cvip");
  const std::vector<double> expect2{1, 1, 1, 1, 7.0 / 9};
  for (std::size_t u = 0; u < expect2.size(); ++u) EXPECT_NEAR(two.score[u], expect2[u], 1e-6) << u;
  // int64 indices give the same scores; fanout -1 (all neighbours) makes every reached node certain.
  const dataset ds64 = dataset::open(write_dataset(d, "tiny64", tiny_graph(), true, true));
  EXPECT_EQ(profile(ds64, cfg, "cvip").score, two.score);
  cfg.fanouts = {-1};
  const profile_result all = profile(ds64, cfg, "cvip");
  for (std::size_t u = 0; u < 5; ++u) EXPECT_NEAR(all.score[u], 1.0, 1e-9) << u;
}

// A row longer than 3 x fanout is read at 3 x fanout positions (a window of consecutive ones at
// the last hop, a systematic sample before it), each with factor 1 - fanout / 15 here: every
// entry's expected score is still fanout / degree = 0.05, and a batch's total is exactly the fanout.
TEST(Profiler, CvipSubsamplesLongRowsWithoutBias) {
  scratch_dir d;
  graph g;
  g.n = 101;
  for (std::int64_t u = 1; u <= 100; ++u) g.indices.push_back(u);
  g.indptr.push_back(100);
  for (std::int64_t v = 1; v <= 100; ++v) g.indptr.push_back(100);
  const dataset ds = dataset::open(write_dataset(d, "star", g));
  profile_config cfg;
  cfg.train_ids = {0};
  cfg.batch_size = 1;
  cfg.fanouts = {5};
  const profile_result c = profile(ds, cfg, "cvip:4000");
  EXPECT_EQ(c.details["batches"], 4000);
  EXPECT_NEAR(c.score[0], 1.0, 1e-9);
  double total = 0;
  for (std::int64_t u = 1; u <= 100; ++u) {
    // Per batch 1/3 with probability 0.15, else 0: sd 0.119 / sqrt(4000) = 0.0019; 5 sd.
    EXPECT_NEAR(c.score[static_cast<std::size_t>(u)], 0.05, 0.0095) << u;
    total += c.score[static_cast<std::size_t>(u)];
  }
  EXPECT_NEAR(total, 5.0, 1e-4);
  // The same row read before the last hop too (a systematic sample of 15 at hop 1, then the seed
  // draws again at hop 2: a window of 9, factor 1 - 3 / 9): a leaf is read with probability
  // 1 - (1 - 0.05)(1 - 0.03) = 0.0785 (per batch 0, 1/3 or 5/9: sd < 0.17 / sqrt(4000) = 0.0027; 5 sd).
  cfg.fanouts = {5, 3};
  const profile_result two = profile(ds, cfg, "cvip:4000");
  total = 0;
  for (std::int64_t u = 1; u <= 100; ++u) {
    EXPECT_NEAR(two.score[static_cast<std::size_t>(u)], 0.0785, 0.0135) << u;
    total += two.score[static_cast<std::size_t>(u)];
  }
  EXPECT_NEAR(total, 7.85, 0.1);
  EXPECT_NE(two.score, c.score) << "a systematic sample and a window read different entries";
}

// A node that many rows list reaches probability 1 in float without being a certain member (60
// seeds each keep it with probability 1/3: it is missed with probability (2/3)^60 = 3e-11); it must
// still draw at the next hop. Its row holds only z, which it then takes: z is read in every batch.
TEST(Profiler, CvipExpandsNodesWhoseProbabilityRoundsToOne) {
  scratch_dir d;
  graph g;
  const std::int64_t seeds = 60, fill = 44, hub = seeds, z = seeds + 1;
  g.n = seeds + 2 + seeds * fill;
  for (std::int64_t s = 0; s < seeds; ++s) {
    g.indices.push_back(hub);
    for (std::int64_t j = 0; j < fill; ++j) g.indices.push_back(seeds + 2 + s * fill + j);
    g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));
  }
  g.indices.push_back(z);
  g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));
  for (std::int64_t v = hub + 1; v < g.n; ++v) g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));
  const dataset ds = dataset::open(write_dataset(d, "hub", g));
  profile_config cfg;
  for (std::int64_t s = 0; s < seeds; ++s) cfg.train_ids.push_back(s);
  cfg.batch_size = seeds;
  cfg.fanouts = {15, 15};
  const profile_result c = profile(ds, cfg, "cvip");
  EXPECT_NEAR(c.score[static_cast<std::size_t>(hub)], 1.0, 1e-6);
  EXPECT_NEAR(c.score[static_cast<std::size_t>(z)], 1.0, 1e-6) << "the hub drew its row at the second hop";
}

// A soft node that a certain member's whole row makes certain during a hop still draws at that hop
// with its probability: the seed 0 keeps one of its two neighbours at hop 0 (each 1/2), takes both
// at hop 1, and the one it kept at hop 0 takes its own single neighbour (3 or 4) at hop 1.
TEST(Profiler, CvipSoftNodesDrawAtTheHopTheyBecomeCertain) {
  scratch_dir d;
  graph g;
  g.n = 5;
  g.indices = {1, 2, 3, 4};
  g.indptr = {0, 2, 3, 4, 4, 4};
  const dataset ds = dataset::open(write_dataset(d, "chain", g));
  profile_config cfg;
  cfg.train_ids = {0};
  cfg.batch_size = 1;
  cfg.fanouts = {1, 2};
  const profile_result c = profile(ds, cfg, "cvip");
  const std::vector<double> expect{1, 1, 1, 0.5, 0.5};
  for (std::size_t u = 0; u < expect.size(); ++u) EXPECT_NEAR(c.score[u], expect[u], 1e-6) << u;
}

// Against long-run frequencies: cvip's expected reads track presample:2000 on a random graph (the
// independence approximation, as for vip; measured: total 1.4% over, from soft nodes redrawing as
// if fresh at each later hop, mean |difference| 0.057 batches per epoch of 8, with 160 batches of
// cvip) and on the clustered graph where vip over-counts it ranks at least as well as vip and as a
// presample of the same batches (measured 97.4-98.0% of the oracle's hit rate, vip 93.1-93.2%,
// presample:1 87.8-91.3%).
TEST(Profiler, CvipTracksSampledFrequenciesAndBeatsVipOnClusters) {
  scratch_dir d;
  {
    const graph g = random_graph(1600, 6, 11);
    const dataset ds = dataset::open(write_dataset(d, "r", g));
    profile_config cfg;
    cfg.train_ids = every_kth(g.n, 5, 1);
    cfg.fanouts = {3, 2, 2};
    cfg.batch_size = 40;  // 8 batches
    cfg.seed = 11;
    const profile_result c = profile(ds, cfg, "cvip:20");
    const profile_result p = profile(ds, cfg, "presample:2000");
    double sum_c = 0, sum_p = 0, mean = 0;
    for (std::size_t u = 0; u < c.score.size(); ++u) {
      sum_c += c.score[u];
      sum_p += p.score[u];
      mean += std::abs(c.score[u] - p.score[u]) / static_cast<double>(c.score.size());
    }
    EXPECT_NEAR(sum_c / sum_p, 1.0, 0.025);
    EXPECT_LT(mean, 0.08);
  }
  const dataset ds = dataset::open(write_dataset(d, "g", clustered_graph(), false));
  const profile_config cfg = clustered_config();
  const profile_result o = profile(ds, cfg, "oracle");
  const profile_result c = profile(ds, cfg, "cvip");
  const profile_result v = profile(ds, cfg, "vip");
  const profile_result p = profile(ds, cfg, "presample:1");
  EXPECT_EQ(c.details["batches"], 12);
  for (std::size_t k : {300u, 600u, 1200u}) {
    EXPECT_GT(hit_rate(c.score, o.score, k), 0.95 * hit_rate(o.score, o.score, k)) << k;
    EXPECT_GE(hit_rate(c.score, o.score, k), hit_rate(v.score, o.score, k)) << k;
    EXPECT_GE(hit_rate(c.score, o.score, k), hit_rate(p.score, o.score, k)) << k;
  }
  const double sum_c = std::accumulate(c.score.begin(), c.score.end(), 0.0);
  const double sum_o = std::accumulate(o.score.begin(), o.score.end(), 0.0);
  EXPECT_NEAR(sum_c / sum_o, 1.0, 0.05);
}

// With two or more whole epochs cvip shrinks each reached node towards the mean of its row-length
// bin by how much its epochs disagree (cvip.cpp). Against long-run frequencies (presample:3000) the
// shrunk scores of 3 whole epochs are closer than the raw ones of 2.94 epochs (29 batches, not whole,
// so left as they are): measured mean squared error 6.7e-3 against 1.3e-2.
TEST(Profiler, CvipShrinkageAcrossEpochsTracksLongRunFrequenciesBetter) {
  scratch_dir d;
  const graph g = random_graph(3000, 10, 5);
  const dataset ds = dataset::open(write_dataset(d, "r", g));
  profile_config cfg;
  cfg.train_ids = every_kth(g.n, 10);
  cfg.fanouts = {4, 3};
  cfg.batch_size = 30;  // 10 batches an epoch
  cfg.seed = 3;
  const profile_result shrunk = profile(ds, cfg, "cvip:3");
  const profile_result raw = profile(ds, cfg, "cvip:2.94");
  const profile_result ref = profile(ds, cfg, "presample:3000");
  ASSERT_TRUE(shrunk.details.contains("shrinkage"));
  EXPECT_GT(shrunk.details["shrinkage"]["bins"].get<int>(), 1);
  EXPECT_EQ(shrunk.details["shrinkage"]["epochs"], 3);
  EXPECT_FALSE(raw.details.contains("shrinkage")) << "29 batches are not whole epochs";
  double err_shrunk = 0, err_raw = 0, sum_shrunk = 0, sum_raw = 0;
  for (std::size_t u = 0; u < ref.score.size(); ++u) {
    err_shrunk += std::pow(shrunk.score[u] - ref.score[u], 2) / static_cast<double>(ref.score.size());
    err_raw += std::pow(raw.score[u] - ref.score[u], 2) / static_cast<double>(ref.score.size());
    sum_shrunk += shrunk.score[u];
    sum_raw += raw.score[u];
  }
  EXPECT_LT(err_shrunk, 0.85 * err_raw) << err_shrunk << " vs " << err_raw;
  EXPECT_NEAR(sum_shrunk / sum_raw, 1.0, 0.02) << "shrinkage keeps each bin's total";
}

namespace {
estimators::graph_ref ref_of(const graph& g) {
  estimators::graph_ref r;
  r.num_nodes = g.n;
  r.indptr = g.indptr.data();
  r.indices = g.indices.data();
  r.index_type = dtype::int64;
  return r;
}
// One epoch of cvip's counts, soft as estimate_cvip expands them (fanouts of two hops), unshrunk.
estimators::batch_counts cvip_counts(const graph& g, const profile_config& cfg, std::uint64_t seed,
                                     std::int64_t batches) {
  estimators::sampling_budget b;
  b.max_batches = batches;
  b.soft_hops = estimators::kCvipSoftHops;
  b.soft_rows = estimators::kCvipSoftRows;
  b.window_noise = true;
  return estimators::count_batches(ref_of(g), cfg, seed, b, "test");
}
}  // namespace

// The variance that cvip's row samples add to a count, as count_batches estimates it from one run
// (for the one node in kNoiseBlock it follows), against the spread of the counts over 400 runs that
// differ only in those samples (one batch holding the whole training set: the seed changes only
// the rows' samples). With one hop the estimate is exact; with two, the noise an expander's own
// probability passes on is approximated with the hop's mean relative variance (cvip.cpp): 1.2 of
// the spread here, 0.9 without that term.
double window_noise_over_spread(const std::vector<std::int64_t>& fanouts) {
  const graph g = random_graph(2000, 60, 11);
  profile_config cfg;
  cfg.train_ids = every_kth(g.n, 40);  // 50 seeds, one batch
  cfg.batch_size = 50;
  cfg.fanouts = fanouts;
  const std::size_t n = static_cast<std::size_t>(g.n);
  std::vector<double> sum(n, 0), sum2(n, 0), est(n, 0);
  const int runs = 400;
  for (int s = 0; s < runs; ++s) {
    const estimators::batch_counts c = cvip_counts(g, cfg, 1000 + static_cast<std::uint64_t>(s), 1);
    EXPECT_EQ(c.noise.size(), (n + estimators::kNoiseBlock - 1) / estimators::kNoiseBlock);
    for (std::size_t u = 0; u < n; ++u) {
      const double x = static_cast<double>(c.count[u]) / static_cast<double>(c.unit);
      sum[u] += x;
      sum2[u] += x * x;
      if (estimators::noise_followed(static_cast<std::int64_t>(u)))
        est[u] += c.noise[u >> estimators::kNoiseBlockShift] / runs;
    }
  }
  double spread = 0, estimated = 0;
  int followed = 0;
  for (std::size_t u = 0; u < n; ++u)
    if (estimators::noise_followed(static_cast<std::int64_t>(u))) {
      ++followed;
      spread += (sum2[u] - sum[u] * sum[u] / runs) / (runs - 1);
      estimated += est[u];
    }
  EXPECT_GT(followed, 100);
  EXPECT_GT(spread, 0);
  return estimated / spread;
}

TEST(Profiler, CvipWindowNoiseEstimateMatchesTheSpreadOverRuns) {
  const double one_hop = window_noise_over_spread({4}), two_hops = window_noise_over_spread({4, 3});
  EXPECT_NEAR(one_hop, 1.0, 0.1);
  EXPECT_GT(two_hops, 0.8);
  EXPECT_LT(two_hops, 1.3);
  std::printf("estimated / measured variance: one hop %.3f, two hops %.3f\n", one_hop, two_hops);
}

// Within one epoch the row samples' noise is all cvip can measure; shrinking each node towards its
// row-length bin by it (every node, reached or not) brings the scores closer to the long-run
// frequencies on a graph without locality, and keeps the total.
TEST(Profiler, CvipShrinkageWithinAnEpochTracksLongRunFrequenciesBetter) {
  const graph g = random_graph(4000, 60, 12);
  profile_config cfg;
  cfg.train_ids = every_kth(g.n, 10);
  cfg.fanouts = {4, 3};
  cfg.batch_size = 40;  // 10 batches an epoch
  cfg.seed = 5;
  const estimators::graph_ref r = ref_of(g);
  const estimators::estimate shrunk = estimators::estimate_cvip(r, cfg, 1.0);
  ASSERT_TRUE(shrunk.details.contains("shrinkage"));
  EXPECT_GT(shrunk.details["shrinkage"]["bins"].get<int>(), 1);
  const estimators::estimate raw =
      estimators::scores_from_counts(r, cfg, cvip_counts(g, cfg, cfg.seed ^ estimators::kPresampleTag, 10));
  const estimators::estimate ref = estimators::estimate_presample(r, cfg, 2000);
  double err_shrunk = 0, err_raw = 0, sum_shrunk = 0, sum_raw = 0;
  for (std::size_t u = 0; u < ref.score.size(); ++u) {
    err_shrunk += std::pow(shrunk.score[u] - ref.score[u], 2);
    err_raw += std::pow(raw.score[u] - ref.score[u], 2);
    sum_shrunk += shrunk.score[u];
    sum_raw += raw.score[u];
  }
  EXPECT_LT(err_shrunk, 0.85 * err_raw) << err_shrunk << " vs " << err_raw;
  EXPECT_NEAR(sum_shrunk / sum_raw, 1.0, 0.01) << "shrinkage keeps each bin's total";
}

// Within an epoch every node is shrunk, but noise is known for one node in kNoiseBlock: the longest
// rows' keys, above the last closed bin, may hold no node of known noise. They join the last bin (they
// were given a bin one past the end: a heap overwrite, "malloc(): invalid size" on facebook_page, R9-3).
TEST(Profiler, CvipLongestRowsWithoutFollowedNoiseJoinTheLastBin) {
  graph g;
  // Every followed node (one in kNoiseBlock) has the shortest row, so they all close bins at the first
  // key, and every longer row's key lies above the last closed bin with no node of known noise.
  g.n = 2048;
  std::vector<std::int64_t> hubs;  // three nodes whose noise is not followed, with the longest rows
  for (std::int64_t u = 0; hubs.size() < 3; ++u)
    if (!estimators::noise_followed(u)) hubs.push_back(u);
  std::uint64_t x = 12345;
  for (std::int64_t v = 0; v < g.n; ++v) {
    const auto h = std::find(hubs.begin(), hubs.end(), v);
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const std::int64_t deg = h != hubs.end()                 ? 900 + 50 * (h - hubs.begin())
                             : estimators::noise_followed(v) ? 1
                                                             : 2 + static_cast<std::int64_t>(x >> 60);
    for (std::int64_t k = 0; k < deg; ++k) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      g.indices.push_back(static_cast<std::int64_t>((x >> 33) % static_cast<std::uint64_t>(g.n)));
    }
    g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));
  }
  profile_config cfg;
  cfg.train_ids = every_kth(g.n, 10);
  cfg.fanouts = {4, 3};
  cfg.batch_size = 20;  // 11 batches an epoch: shrinkage within the epoch
  const estimators::graph_ref r = ref_of(g);
  const estimators::estimate e = estimators::estimate_cvip(r, cfg, 1.0);
  ASSERT_TRUE(e.details.contains("shrinkage"));
  ASSERT_GT(e.details["shrinkage"]["bins"].get<int>(), 0);
  const estimators::estimate raw =
      estimators::scores_from_counts(r, cfg, cvip_counts(g, cfg, cfg.seed ^ estimators::kPresampleTag, 11));
  double sum = 0, sum_raw = 0;
  for (std::size_t u = 0; u < e.score.size(); ++u) {
    ASSERT_TRUE(std::isfinite(e.score[u]) && e.score[u] >= 0 && e.score[u] <= 11) << u << ": " << e.score[u];
    sum += e.score[u];
    sum_raw += raw.score[u];
  }
  EXPECT_NEAR(sum / sum_raw, 1.0, 0.01) << "shrinkage keeps each bin's total";
}

TEST(Profiler, SymmetricDatasetsNeedNoTranspose) {
  scratch_dir d;
  const graph g = symmetrize(random_graph(700, 8, 4, true));
  const dataset as_directed = dataset::open(write_dataset(d, "dir", g, true));
  const dataset as_undirected = dataset::open(write_dataset(d, "undir", g, false));
  profile_config cfg;
  cfg.train_ids = every_kth(g.n, 7);
  cfg.fanouts = {4, 3};
  cfg.batch_size = 20;
  for (const char* spec : {"degree", "wrpr", "vip"}) {
    const profile_result a = profile(as_directed, cfg, spec);
    const profile_result b = profile(as_undirected, cfg, spec);
    ASSERT_EQ(a.score.size(), b.score.size());
    for (std::size_t u = 0; u < a.score.size(); ++u)
      EXPECT_NEAR(a.score[u], b.score[u], 1e-12 * (1 + a.score[u])) << spec << " " << u;
    if (std::string(spec) == "vip")
      EXPECT_EQ(b.edge_passes, a.edge_passes) << "vip pushes along the rows: no transpose either way";
    else
      EXPECT_LT(b.edge_passes, a.edge_passes) << spec;
  }
}

TEST(Profiler, SameScoresForAnyThreadCount) {
  scratch_dir d;
  const graph g = random_graph(5000, 14, 9, true, 61);
  const dataset ds = dataset::open(write_dataset(d, "g", g));
  profile_config cfg;
  cfg.train_ids = every_kth(g.n, 3);
  cfg.fanouts = {8, 5, 3};
  cfg.batch_size = 100;
  cfg.seed = 17;
  cfg.run_epochs = 2;
  for (const char* spec :
       {"degree", "wrpr", "vip", "presample:1.5", "cvip", "cvip:0.5", "cvip:2", "hybrid", "hybrid:0.3", "oracle"}) {
    std::vector<std::vector<double>> runs;
    for (int threads : {1, 2, 3}) {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
      runs.push_back(profile(ds, cfg, spec).score);
    }
    EXPECT_EQ(runs[0], runs[1]) << spec;
    EXPECT_EQ(runs[0], runs[2]) << spec;
  }
}

TEST(Profiler, EmptyTrainingSetScoresNothing) {
  scratch_dir d;
  const dataset ds = dataset::open(write_dataset(d, "tiny", tiny_graph()));
  profile_config cfg;
  cfg.fanouts = {2, 1};
  for (const char* spec : {"wrpr", "vip", "presample:1", "cvip", "hybrid", "oracle"})
    EXPECT_EQ(profile(ds, cfg, spec).score, std::vector<double>(5, 0.0)) << spec;
}

TEST(ProfilerBadInput, UnknownOrMalformedSpecsListTheValidNames) {
  scratch_dir d;
  const dataset ds = dataset::open(write_dataset(d, "tiny", tiny_graph()));
  profile_config cfg;
  cfg.train_ids = {0, 1};
  cfg.fanouts = {2, 1};
  for (const char* bad : {"presample:0",   "presample:x",   "presample",       "presample:", "presample:-1",
                          "presample:1e3", "presample:0.0", "presample:1.2.3", "cvip:0",     "cvip:x",
                          "cvip:",         "cvip:10001",    "presample:99999", "hybrid:0",   "hybrid:abc",
                          "degree:2",      "oracle:5",      "pagerank",        "",           "DEGREE"}) {
    try {
      profile(ds, cfg, bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const input_error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("'" + std::string(bad) + "'"), std::string::npos) << msg;
      for (const auto& name : estimator_names()) EXPECT_NE(msg.find(name), std::string::npos) << msg;
    }
  }
}

TEST(ProfilerBadInput, BadConfigurationsAreRejected) {
  scratch_dir d;
  const dataset ds = dataset::open(write_dataset(d, "tiny", tiny_graph()));
  profile_config good;
  good.train_ids = {0, 1};
  good.fanouts = {2, 1};
  auto rejects = [&](profile_config c, const std::string& spec) {
    EXPECT_THROW(profile(ds, c, spec), input_error) << spec;
  };
  profile_config c = good;
  c.train_ids = {0, 5};
  rejects(c, "degree");
  c.train_ids = {1, 0, 1};
  rejects(c, "wrpr");
  c = good;
  c.fanouts = {};
  rejects(c, "vip");
  c.fanouts = {2, 0};
  rejects(c, "vip");
  c.fanouts = {-2};
  rejects(c, "presample:1");
  c = good;
  c.batch_size = 0;
  rejects(c, "hybrid");
  c = good;
  c.run_epochs = 0;
  rejects(c, "oracle");
  EXPECT_NO_THROW(profile(ds, good, "presample:1"));
}

// rank_nodes sorts integer keys instead of chasing scores through memory: the order must be exactly
// score descending, ties (also 0 against -0) by id, for any mix of values.
TEST(Profiler, RankNodesOrdersByScoreThenId) {
  std::mt19937_64 gen(7);
  std::vector<double> score(20000);
  for (std::size_t i = 0; i < score.size(); ++i) {
    switch (gen() % 6) {
      case 0:
        score[i] = 0.0;
        break;
      case 1:
        score[i] = -0.0;
        break;
      case 2:
        score[i] = static_cast<double>(gen() % 5);
        break;  // many exact ties
      case 3:
        score[i] = -static_cast<double>(gen() % 1000) / 7.0;
        break;
      case 4:
        score[i] = std::ldexp(static_cast<double>(gen() % 1000), -1060);
        break;  // subnormal
      default:
        score[i] = static_cast<double>(gen()) / 3.0;
        break;
    }
  }
  std::vector<std::int64_t> expect(score.size());
  std::iota(expect.begin(), expect.end(), 0);
  std::stable_sort(expect.begin(), expect.end(), [&](std::int64_t a, std::int64_t b) {
    return score[static_cast<std::size_t>(a)] > score[static_cast<std::size_t>(b)];
  });
  EXPECT_EQ(rank_nodes(score), expect);
  EXPECT_TRUE(rank_nodes({}).empty());
}
