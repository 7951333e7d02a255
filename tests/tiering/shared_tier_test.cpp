#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "datasets/generate.hpp"
#include "sampler/rank_slice.hpp"
#include "tiering/shared_tier.hpp"
#include "tiering/shared_traffic.hpp"
#include "sampler/batcher.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "test_util.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/prepare.hpp"

using namespace tg;
using tg::test::scratch_dir;

namespace {

shared_tier_config config(std::int64_t n, int k, std::int64_t budget_rows, bool p2p, double w = 0.5) {
  shared_tier_config c;
  c.num_nodes = n;
  c.row_bytes = 100;
  c.num_gpus = k;
  c.gpu_budget_bytes = static_cast<std::uint64_t>(budget_rows) * 100 + 37;  // a partial row is not a row
  c.peer_to_peer = p2p;
  c.peer_weight = w;
  return c;
}

// The CPU reference of the planner's objective, by direct sums: k * (local + w * peer) per GPU.
double objective(const std::vector<double>& p, int k, std::int64_t b, double w, std::int64_t r) {
  const auto n = static_cast<std::int64_t>(p.size());
  const std::int64_t s = std::min<std::int64_t>(k * (b - r), n - r);
  double pr = 0, striped = 0;
  for (std::int64_t i = 0; i < r; ++i) pr += p[i];
  for (std::int64_t i = r; i < r + s; ++i) striped += p[i];
  return k * pr + striped + w * (k - 1) * striped;
}

std::int64_t brute_force_r(const std::vector<double>& p, int k, std::int64_t b, double w) {
  const auto n = static_cast<std::int64_t>(p.size());
  double best = -1;
  std::int64_t best_r = 0;
  for (std::int64_t r = 0; r <= std::min(b, n); ++r) {
    const double f = objective(p, k, b, w, r);
    if (f >= best - 1e-9) best_r = r, best = std::max(best, f);
  }
  return best_r;
}

void expect_valid(const shared_tier_plan& p) {
  const int k = p.num_gpus();
  EXPECT_LE(p.replicated_rows() + (p.striped_rows() + k - 1) / k, p.budget_rows());
  EXPECT_LE(p.striped_end(), p.num_nodes());
  std::int64_t striped_total = 0;
  for (int g = 0; g < k; ++g) {
    EXPECT_LE(p.rows_on_gpu(g), p.budget_rows()) << "GPU " << g;
    striped_total += p.rows_on_gpu(g) - p.replicated_rows();
  }
  EXPECT_EQ(striped_total, p.striped_rows()) << "every striped row lives on exactly one GPU";
}

}  // namespace

// ---- planner -------------------------------------------------------------------------------

TEST(SharedTierPlan, HandCheckedChoices) {
  // k = 2, B = 3, w = 0.5: f(r) = P(r) + (3/4)(P(r + s) - P(r)) with s = min(2 (3 - r), 10 - r).
  // One hub then a flat run: f = 11.25, 13, 12.5, 12 for r = 0..3 -> replicate the hub, stripe 4.
  {
    const std::vector<double> p{10, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    const auto plan = plan_shared_tier(config(10, 2, 3, true), p);
    EXPECT_EQ(plan.replicated_rows(), 1);
    EXPECT_EQ(plan.striped_rows(), 4);
    expect_valid(plan);
  }
  // Uniform reads: striping doubles the rows on GPUs, so replicate nothing (f = 4.5, 4, 3.5, 3).
  {
    const std::vector<double> p(10, 1.0);
    const auto plan = plan_shared_tier(config(10, 2, 3, true), p);
    EXPECT_EQ(plan.replicated_rows(), 0);
    EXPECT_EQ(plan.striped_rows(), 6);
  }
  // Three dominant rows fill the budget: f(3) = 300 beats f(2) = 275.75, so no striping.
  {
    const std::vector<double> p{100, 100, 100, 1, 1, 1, 1, 1, 1, 1};
    const auto plan = plan_shared_tier(config(10, 2, 3, true), p);
    EXPECT_EQ(plan.replicated_rows(), 3);
    EXPECT_EQ(plan.striped_rows(), 0);
  }
  // k = 3, B = 3, w = 0.5: k f(r) = 3 P(r) + 2 (P(r + s) - P(r)) = 30, 35, 39, 36 for r = 0..3.
  {
    const std::vector<double> p{5, 4, 3, 2, 1, 0, 0};
    const auto plan = plan_shared_tier(config(7, 3, 3, true), p);
    EXPECT_EQ(plan.replicated_rows(), 2);
    EXPECT_EQ(plan.striped_rows(), 3);
    expect_valid(plan);
  }
  // A peer read as good as a local one: stripe everything that fits.
  {
    const std::vector<double> p{9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1, 1};
    const auto plan = plan_shared_tier(config(12, 4, 2, true, 1.0), p);
    EXPECT_EQ(plan.replicated_rows(), 0);
    EXPECT_EQ(plan.striped_rows(), 8);
  }
  // Ties (no reads at all) go to replication: fewer peer reads for the same value.
  {
    const std::vector<double> p(10, 0.0);
    const auto plan = plan_shared_tier(config(10, 2, 3, true), p);
    EXPECT_EQ(plan.replicated_rows(), 3);
    EXPECT_EQ(plan.striped_rows(), 0);
  }
}

TEST(SharedTierPlan, OptimalAgainstBruteForceForOneToFourGpus) {
  // Skewed hot-first curves of several shapes, budgets from nothing to more than the graph.
  const std::int64_t n = 60;
  std::vector<std::vector<double>> curves;
  for (double alpha : {0.0, 0.5, 1.0, 2.0}) {
    std::vector<double> p(n);
    for (std::int64_t i = 0; i < n; ++i) p[i] = std::round(1000.0 / std::pow(static_cast<double>(i + 1), alpha));
    curves.push_back(p);
  }
  curves.push_back(std::vector<double>(n, 0.0));
  for (int k = 1; k <= 4; ++k)
    for (std::int64_t b : {0, 1, 5, 14, 15, 16, 30, 59, 60, 100})
      for (double w : {0.0, 0.3, 0.8, 1.0})
        for (const auto& p : curves) {
          const auto plan = plan_shared_tier(config(n, k, b, true, w), p);
          SCOPED_TRACE("k=" + std::to_string(k) + " B=" + std::to_string(b) + " w=" + std::to_string(w));
          expect_valid(plan);
          EXPECT_EQ(plan.budget_rows(), std::min(b, n));
          const std::int64_t r = plan.replicated_rows();
          EXPECT_NEAR(objective(p, k, plan.budget_rows(), w, r),
                      objective(p, k, plan.budget_rows(), w, brute_force_r(p, k, plan.budget_rows(), w)), 1e-9);
          EXPECT_EQ(r, brute_force_r(p, k, plan.budget_rows(), w));
          // The budget is filled: no GPU leaves room while rows remain off the GPUs.
          const std::int64_t want_s = k > 1 ? std::min<std::int64_t>(k * (plan.budget_rows() - r), n - r) : 0;
          EXPECT_EQ(plan.striped_rows(), want_s);
        }
}

TEST(SharedTierPlan, WithoutPeerToPeerEveryGpuReplicatesItsBudget) {
  for (int k = 1; k <= 4; ++k) {
    const std::vector<double> p(40, 1.0);  // uniform: striping would win if it were allowed
    const auto plan = plan_shared_tier(config(40, k, 7, false), p);
    EXPECT_EQ(plan.replicated_rows(), 7);
    EXPECT_EQ(plan.striped_rows(), 0);
    EXPECT_EQ(plan.host_rows(), 33);
    for (int g = 0; g < k; ++g) EXPECT_EQ(plan.rows_on_gpu(g), 7);
    // The budget caps at the graph.
    EXPECT_EQ(plan_shared_tier(config(5, k, 7, false)).replicated_rows(), 5);
  }
  // One GPU with P2P is still one GPU.
  EXPECT_EQ(plan_shared_tier(config(40, 1, 7, true)).replicated_rows(), 7);
}

TEST(SharedTierPlan, ZipfRuleWithoutScoresIsNearTheOptimumOfAZipfCurve) {
  const std::int64_t n = 20000;
  std::vector<double> zipf(n);
  for (std::int64_t i = 0; i < n; ++i) zipf[i] = 1.0 / static_cast<double>(i + 1);
  for (int k : {2, 3, 4, 8})
    for (std::int64_t b : {200, 1000, 3000, 9000})
      for (double w : {0.2, 0.5, 0.8}) {
        SCOPED_TRACE("k=" + std::to_string(k) + " B=" + std::to_string(b) + " w=" + std::to_string(w));
        const auto rule = plan_shared_tier(config(n, k, b, true, w));
        const auto best = plan_shared_tier(config(n, k, b, true, w), zipf);
        expect_valid(rule);
        const double f_rule = objective(zipf, k, b, w, rule.replicated_rows());
        const double f_best = objective(zipf, k, b, w, best.replicated_rows());
        EXPECT_GE(f_rule, f_best * (1 - 1e-4));
        const std::int64_t zipf_r = std::llround((1 - w) * static_cast<double>(b));
        if (k * b < n) {
          EXPECT_EQ(rule.replicated_rows(), zipf_r);
        } else {
          // k GPUs can hold the graph: never replicate less than r_all, which keeps every row on a
          // GPU.
          const std::int64_t r_all = b - (n - b + k - 2) / (k - 1);
          EXPECT_EQ(rule.replicated_rows(), std::max(r_all, zipf_r));
          if (r_all >= zipf_r) {
            EXPECT_EQ(rule.striped_end(), n);
          }
        }
      }
}

TEST(SharedTierPlan, ClassifyAndCountOnHandBuiltIds) {
  // N = 20, k = 3: [0, 4) replicated, [4, 10) striped (4, 7 -> GPU 1; 5, 8 -> GPU 2; 6, 9 -> GPU
  // 0), [10, 15) host, [15, 20) disk.
  shared_tier_config c = config(20, 3, 6, true);
  c.host_rows = 5;
  const shared_tier_plan plan(c, 4, 6);
  EXPECT_EQ(plan.c(), 15);
  EXPECT_EQ(plan.disk_rows(), 5);
  for (int g = 0; g < 3; ++g) EXPECT_EQ(plan.rows_on_gpu(g), 6);
  EXPECT_EQ(plan.owner(4), 1);
  EXPECT_EQ(plan.owner(5), 2);
  EXPECT_EQ(plan.owner(9), 0);
  EXPECT_THROW(plan.owner(3), input_error);
  EXPECT_EQ(plan.classify(3, 2), row_source::local);
  EXPECT_EQ(plan.classify(7, 1), row_source::local);
  EXPECT_EQ(plan.classify(7, 0), row_source::peer);
  EXPECT_EQ(plan.classify(10, 0), row_source::host);
  EXPECT_EQ(plan.classify(14, 2), row_source::host);
  EXPECT_EQ(plan.classify(15, 2), row_source::disk);
  EXPECT_EQ(plan.classify(19, 0), row_source::disk);
  EXPECT_THROW(plan.classify(-1, 0), input_error);
  EXPECT_THROW(plan.classify(20, 0), input_error);
  EXPECT_THROW(plan.classify(0, 3), input_error);
  EXPECT_STREQ(to_string(row_source::peer), "peer");

  const std::vector<std::int64_t> ids{0, 3, 4, 5, 6, 9, 10, 14, 15, 19};
  const traffic t1 = plan.count(ids, 1);
  EXPECT_EQ(t1.batches, 1);
  EXPECT_EQ(t1.gpu_rows, 3);   // 0, 3, 4
  EXPECT_EQ(t1.peer_rows, 3);  // 5, 6, 9
  EXPECT_EQ(t1.host_rows, 2);
  EXPECT_EQ(t1.disk_rows, 2);
  EXPECT_EQ(t1.host_to_gpu_bytes(), 400);
  EXPECT_EQ(t1.peer_bytes(), 300);
  EXPECT_EQ(t1.disk_to_host_bytes(), 200);
  EXPECT_EQ(t1.baseline_bytes(), 1000);
  const traffic t0 = plan.count(ids, 0);
  EXPECT_EQ(t0.gpu_rows, 4);  // 0, 3, 6, 9
  EXPECT_EQ(t0.peer_rows, 2);
  // count agrees with classify id by id, on every GPU.
  for (int g = 0; g < 3; ++g) {
    traffic ref;
    for (auto id : ids) {
      const row_source s = plan.classify(id, g);
      ++(s == row_source::local  ? ref.gpu_rows
         : s == row_source::peer ? ref.peer_rows
         : s == row_source::host ? ref.host_rows
                                 : ref.disk_rows);
    }
    const auto t = plan.count(ids, g);
    EXPECT_EQ(t.gpu_rows, ref.gpu_rows);
    EXPECT_EQ(t.peer_rows, ref.peer_rows);
    EXPECT_EQ(t.host_rows, ref.host_rows);
    EXPECT_EQ(t.disk_rows, ref.disk_rows);
  }
  traffic sum = t0;
  sum += t1;
  EXPECT_EQ(sum.batches, 2);
  EXPECT_EQ(sum.rows(), 20);
  const std::vector<std::int64_t> bad{1, 20};
  EXPECT_THROW(plan.count(bad, 0), input_error);
  EXPECT_THROW(plan.count(ids, -1), input_error);
}

TEST(SharedTierPlan, PredictionFollowsTheBands) {
  shared_tier_config c = config(8, 2, 3, true);
  c.host_rows = 2;
  const shared_tier_plan plan(c, 1, 4);                 // [0,1) repl, [1,5) striped, [5,7) host, [7,8) disk
  const std::vector<double> p{4, 2, 2, 2, 2, 3, 3, 2};  // total 20
  const auto pr = plan.predict(p);
  EXPECT_DOUBLE_EQ(pr.local, (4 + 8.0 / 2) / 20);
  EXPECT_DOUBLE_EQ(pr.peer, 4.0 / 20);
  EXPECT_DOUBLE_EQ(pr.host, 6.0 / 20);
  EXPECT_DOUBLE_EQ(pr.disk, 2.0 / 20);
  const auto z = plan.predict();
  EXPECT_NEAR(z.local + z.peer + z.host + z.disk, 1.0, 1e-12);
}

TEST(SharedTierPlan, RejectsBadInputWithClearErrors) {
  EXPECT_THROW(plan_shared_tier(config(10, 0, 3, true)), input_error);
  EXPECT_THROW(plan_shared_tier(config(10, kMaxSharedGpus + 1, 3, true)), input_error);
  EXPECT_THROW(plan_shared_tier(config(-1, 2, 3, true)), input_error);
  shared_tier_config c = config(10, 2, 3, true);
  c.row_bytes = 0;
  EXPECT_THROW(plan_shared_tier(c), input_error);
  c = config(10, 2, 3, true, 1.5);
  EXPECT_THROW(plan_shared_tier(c), input_error);
  c.peer_weight = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(plan_shared_tier(c), input_error);
  c = config(10, 2, 3, true);
  c.host_rows = -2;
  EXPECT_THROW(plan_shared_tier(c), input_error);
  c = config(10, 2, 3, true);
  EXPECT_THROW(plan_shared_tier(c, std::vector<double>(9, 1.0)), input_error);
  std::vector<double> neg(10, 1.0);
  neg[4] = -1;
  EXPECT_THROW(plan_shared_tier(c, neg), input_error);
  neg[4] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(plan_shared_tier(c, neg), input_error);
  try {
    shared_tier_plan(config(10, 2, 3, true), 2, 3);  // 2 + ceil(3 / 2) = 4 rows > 3
    FAIL() << "bands over budget were accepted";
  } catch (const budget_error& e) {
    EXPECT_NE(std::string(e.what()).find("4 rows"), std::string::npos) << e.what();
  }
  EXPECT_THROW(shared_tier_plan(config(10, 2, 3, false), 1, 2),
               input_error);                                                  // striping without P2P
  EXPECT_THROW(shared_tier_plan(config(10, 2, 3, true), 8, 3), input_error);  // past N
  EXPECT_NO_THROW(shared_tier_plan(config(10, 2, 3, true), 2, 2));
  // Per-GPU budgets as users write them: a byte budget pays the training reserve first.
  EXPECT_THROW(feature_budget_per_gpu(1000, 512, parse_budget("1M", "--gpu-mem"), 2u << 20), budget_error);
  EXPECT_EQ(feature_budget_per_gpu(1000, 512, parse_budget("10%", "--gpu-mem"), 2u << 20), 100u * 512);
  EXPECT_EQ(feature_budget_per_gpu(1000, 512, parse_budget("3M", "--gpu-mem"), 2u << 20), 1000u * 512);
  EXPECT_THROW(feature_budget_per_gpu(1000, 0, parse_budget("10%", "--gpu-mem"), 0), input_error);
}

// ---- replay of data-parallel training ------------------------------------------------------

namespace {

struct fixture {
  scratch_dir dir;
  std::string src, prepared;
  fixture() {
    community_options o;
    o.num_nodes = 3000;
    o.avg_degree = 10;
    o.num_classes = 4;
    o.feature_dim = 16;
    o.seed = 5;
    src = generate_community(o, dir / "g", false);
    prepare_config pc;
    pc.estimator = "degree";
    pc.gpu_mem = "10%";
    pc.host_mem = "60%";
    pc.fanouts = {5, 5};
    pc.batch_size = 64;
    pc.hidden = 16;
    prepared = prepare_dataset(dataset::open(src), pc, dir / "prep").out_dir;
  }
};

const fixture& data() {
  static const fixture f;
  return f;
}

dp_replay_config replay_cfg(int world, std::int64_t batch = 64) {
  dp_replay_config c;
  c.fanouts = {5, 5};
  c.batch_size = batch;
  c.seed = 11;
  c.epochs = 2;
  c.world = world;
  return c;
}

// The trainer's loop (train/trainer.cpp), one rank at a time, counted by the single-GPU ledger.
std::vector<traffic> single_gpu_ledgers(const dataset& d, const dp_replay_config& cfg, const tiered_store& store) {
  const auto keys = d.get("order.npy").to_int64();
  const auto train = d.get("train_idx.npy").to_int64();
  neighbor_sampler s(d, cfg.fanouts, cfg.seed);
  s.set_node_keys(span<const std::int64_t>(keys));
  std::vector<traffic> out(static_cast<std::size_t>(cfg.world));
  sampled_batch sb;
  for (int e = cfg.first_epoch; e < cfg.first_epoch + cfg.epochs; ++e) {
    const batch_plan plan =
        plan_epoch(span<const std::int64_t>(train), cfg.batch_size, cfg.seed, e, true, span<const std::int64_t>(keys));
    for (std::int64_t b = 0; b < plan.num_batches(); ++b)
      for (int r = 0; r < cfg.world; ++r) {
        const auto g = plan.batch(b);
        const index_range m = rank_slice(static_cast<std::int64_t>(g.size()), r, cfg.world);
        if (m.size() == 0) continue;
        s.sample(g.subspan(static_cast<std::size_t>(m.begin), static_cast<std::size_t>(m.size())), e, b, &sb);
        out[static_cast<std::size_t>(r)] += store.count(sb.input_nodes());
      }
  }
  return out;
}

shared_tier_config tier_of(const dataset& d, int k, std::int64_t budget_rows, bool p2p, std::int64_t host_rows) {
  shared_tier_config c;
  c.num_nodes = d.num_nodes();
  c.row_bytes = d.meta().feature_dim * 4;
  c.num_gpus = k;
  c.gpu_budget_bytes = static_cast<std::uint64_t>(budget_rows * c.row_bytes);
  c.peer_to_peer = p2p;
  c.host_rows = host_rows;
  return c;
}

}  // namespace

TEST(DataParallelReplay, OneGpuEqualsTheSingleGpuLedger) {
  const dataset d = dataset::open(data().prepared);
  const std::int64_t n = d.num_nodes(), g = n / 10, c = n * 6 / 10;
  const tiered_store store(d, g, c, 1);
  const dp_replay_config cfg = replay_cfg(1);
  const traffic ref = single_gpu_ledgers(d, cfg, store)[0];
  ASSERT_GT(ref.gpu_rows, 0);
  ASSERT_GT(ref.disk_rows, 0);
  const shared_tier_plan plan = plan_shared_tier(tier_of(d, 1, g, true, c - g));
  ASSERT_EQ(plan.replicated_rows(), g);
  const dp_replay_result res = replay_data_parallel(d, cfg, {plan});
  const traffic& t = res.per_gpu[0][0];
  EXPECT_EQ(t.batches, ref.batches);
  EXPECT_EQ(t.gpu_rows, ref.gpu_rows);
  EXPECT_EQ(t.peer_rows, 0);
  EXPECT_EQ(t.host_rows, ref.host_rows);
  EXPECT_EQ(t.disk_rows, ref.disk_rows);
  EXPECT_EQ(t.host_to_gpu_bytes(), ref.host_to_gpu_bytes());
  EXPECT_EQ(res.global_batches, ref.batches);
}

TEST(DataParallelReplay, PerGpuCountsMatchTheSingleGpuLedgerOfEachRanksSlices) {
  const dataset d = dataset::open(data().prepared);
  const std::int64_t n = d.num_nodes(), budget = n / 20;
  for (int k : {2, 3, 4})
    for (std::int64_t batch : {64, 130}) {  // 130: a short last batch
      SCOPED_TRACE("k=" + std::to_string(k) + " batch=" + std::to_string(batch));
      const dp_replay_config cfg = replay_cfg(k, batch);
      const shared_tier_plan repl = plan_shared_tier(tier_of(d, k, budget, false, n / 2));
      const shared_tier_plan striped =
          plan_shared_tier(tier_of(d, k, budget, true, n / 2), std::vector<double>(n, 1.0));
      ASSERT_EQ(striped.replicated_rows(), 0);  // uniform scores: all striped
      ASSERT_EQ(striped.striped_rows(), k * budget);
      const dp_replay_result res = replay_data_parallel(d, cfg, {repl, striped});
      // The same slices counted by the single-GPU ledger, with the GPU tier = the GPU bands.
      const auto ref_repl = single_gpu_ledgers(d, cfg, tiered_store(d, repl.striped_end(), repl.c(), 1));
      const auto ref_str = single_gpu_ledgers(d, cfg, tiered_store(d, striped.striped_end(), striped.c(), 1));
      traffic all;
      for (int g = 0; g < k; ++g) {
        const auto& a = res.per_gpu[0][static_cast<std::size_t>(g)];
        const auto& b = res.per_gpu[1][static_cast<std::size_t>(g)];
        const auto& ra = ref_repl[static_cast<std::size_t>(g)];
        const auto& rb = ref_str[static_cast<std::size_t>(g)];
        EXPECT_EQ(a.batches, ra.batches);
        EXPECT_EQ(a.gpu_rows, ra.gpu_rows);
        EXPECT_EQ(a.peer_rows, 0);
        EXPECT_EQ(a.host_rows, ra.host_rows);
        EXPECT_EQ(a.disk_rows, ra.disk_rows);
        EXPECT_EQ(b.gpu_rows + b.peer_rows, rb.gpu_rows);
        EXPECT_EQ(b.host_rows, rb.host_rows);
        EXPECT_EQ(b.disk_rows, rb.disk_rows);
        // Striped rows are spread evenly, so each GPU finds about 1/k of its GPU-tier rows locally.
        EXPECT_NEAR(static_cast<double>(b.gpu_rows) / static_cast<double>(rb.gpu_rows), 1.0 / k, 0.1);
        all += ra;
      }
      // Summed over the GPUs: the single-GPU totals of the same batches.
      EXPECT_EQ(res.total(0).rows(), all.rows());
      EXPECT_EQ(res.total(1).rows(), all.rows());
      EXPECT_EQ(res.total(0).batches, all.batches);
      // Striping at the same per-GPU budget moves fewer rows from the host.
      EXPECT_LT(res.total(1).host_to_gpu_bytes(), res.total(0).host_to_gpu_bytes());
    }
}

TEST(DataParallelReplay, EmptySlicesReadNothing) {
  const dataset d = dataset::open(data().prepared);
  const std::int64_t train = d.get("train_idx.npy").count();
  // A batch size that leaves one seed in the last batch: ranks 1 and 2 get empty slices there.
  const std::int64_t batch = train - 1;
  ASSERT_GT(batch, 3);
  const dp_replay_config cfg = replay_cfg(3, batch);
  const shared_tier_plan plan = plan_shared_tier(tier_of(d, 3, 10, false, -1));
  const dp_replay_result res = replay_data_parallel(d, cfg, {plan});
  EXPECT_EQ(res.global_batches, 4);
  EXPECT_EQ(res.slices, 2 * (3 + 1));
  EXPECT_EQ(res.per_gpu[0][0].batches, 4);
  EXPECT_EQ(res.per_gpu[0][1].batches, 2);
  EXPECT_EQ(res.per_gpu[0][2].batches, 2);
}

TEST(DataParallelReplay, UnpreparedDatasetWithHotFirstRanksEqualsThePreparedOne) {
  const dataset prep = dataset::open(data().prepared);
  const dataset src = dataset::open(data().src);
  const auto order = prep.get("order.npy").to_int64();
  std::vector<std::int64_t> rank(order.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    rank[static_cast<std::size_t>(order[i])] = static_cast<std::int64_t>(i);
  const std::int64_t n = prep.num_nodes();
  const std::vector<shared_tier_plan> plans{plan_shared_tier(tier_of(prep, 2, n / 10, false, n / 3)),
                                            plan_shared_tier(tier_of(prep, 2, n / 10, true, n / 3))};
  const dp_replay_result a = replay_data_parallel(prep, replay_cfg(2), plans);
  dp_replay_config cfg = replay_cfg(2);
  cfg.hot_rank = rank;
  const dp_replay_result b = replay_data_parallel(src, cfg, plans);
  for (std::size_t p = 0; p < plans.size(); ++p)
    for (std::size_t g = 0; g < 2; ++g) {
      EXPECT_EQ(a.per_gpu[p][g].to_json(), b.per_gpu[p][g].to_json()) << "plan " << p << " GPU " << g;
    }
  // A prepared dataset is hot-first already.
  cfg.hot_rank = rank;
  EXPECT_THROW(replay_data_parallel(prep, cfg, plans), input_error);
}

TEST(DataParallelReplay, SameCountsForAnyThreadCount) {
  const dataset d = dataset::open(data().prepared);
  const std::int64_t n = d.num_nodes();
  const sharing_comparison many = compare_sharing(d, replay_cfg(4), tier_of(d, 4, n / 20, true, -1));
  sharing_comparison one;
  {
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, 1);
    one = compare_sharing(d, replay_cfg(4), tier_of(d, 4, n / 20, true, -1));
  }
  EXPECT_EQ(many.replay.to_json({many.replicated, many.striped})["plans"],
            one.replay.to_json({one.replicated, one.striped})["plans"]);
  EXPECT_EQ(many.replicated.striped_rows(), 0);
  EXPECT_GT(many.striped.striped_rows(), 0);
}

TEST(DataParallelReplay, RejectsMismatchedPlansAndConfigs) {
  const dataset d = dataset::open(data().prepared);
  const shared_tier_plan two = plan_shared_tier(tier_of(d, 2, 10, false, -1));
  EXPECT_THROW(replay_data_parallel(d, replay_cfg(3), {two}), input_error);
  EXPECT_THROW(replay_data_parallel(d, replay_cfg(2), {}), input_error);
  dp_replay_config c = replay_cfg(2);
  c.batch_size = 0;
  EXPECT_THROW(replay_data_parallel(d, c, {two}), input_error);
  c = replay_cfg(2);
  c.train_ids = {1, 2, 2};
  EXPECT_THROW(replay_data_parallel(d, c, {two}), input_error);
  c = replay_cfg(2);
  c.world = 0;
  EXPECT_THROW(replay_data_parallel(d, c, {two}), input_error);
  shared_tier_config other = tier_of(d, 2, 10, false, -1);
  other.num_nodes = d.num_nodes() + 1;
  EXPECT_THROW(replay_data_parallel(d, replay_cfg(2), {plan_shared_tier(other)}), input_error);
}
