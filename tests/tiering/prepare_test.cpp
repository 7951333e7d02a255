#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "datasets/generate.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "test_util.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/plan_file.hpp"
#include "tiering/prepare.hpp"
#include "tiering/plan.hpp"
#include "tiering/renumber.hpp"
#include "tiering/shard_layout.hpp"
#include "train/trainer.hpp"

using namespace tg;
using tg::test::scratch_dir;
namespace fs = std::filesystem;

namespace {
std::string make_graph(const scratch_dir& d, const std::string& name = "g", std::int64_t nodes = 4000,
                       std::uint64_t seed = 3) {
  community_options o;
  o.num_nodes = nodes;
  o.avg_degree = 12;
  o.num_classes = 4;
  o.feature_dim = 24;
  o.seed = seed;
  return generate_community(o, d / name, false);
}

prepare_config small_prepare(const std::string& estimator = "degree") {
  prepare_config c;
  c.estimator = estimator;
  c.gpu_mem = "10%";
  c.host_mem = "50%";
  c.fanouts = {5, 5};
  c.batch_size = 128;
  c.run_epochs = 2;
  c.hidden = 16;
  return c;
}

template <typename T>
std::vector<T> vec(const npy_array& a) {
  const auto s = a.as<T>();
  return std::vector<T>(s.begin(), s.end());
}
}  // namespace

TEST(Prepare, RenumberedDatasetIsTheSameGraphUnderOrder) {
  scratch_dir d;
  const dataset src = dataset::open(make_graph(d));
  const prepare_report r = prepare_dataset(src, small_prepare(), d / "prep");
  const dataset p = dataset::open(d / "prep");
  EXPECT_NO_THROW(p.check());
  const auto order = p.get("order.npy").to_int64();
  const std::int64_t n = src.num_nodes();
  ASSERT_EQ(static_cast<std::int64_t>(order.size()), n);
  std::vector<std::int64_t> inv(n, -1);
  for (std::int64_t i = 0; i < n; ++i) inv[order[i]] = i;
  for (auto x : inv) ASSERT_GE(x, 0) << "order.npy is not a permutation";
  // Same edges (and same neighbour order) for every original node.
  const auto g0 = src.graph<std::int32_t>();
  const auto g1 = p.graph<std::int32_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    const auto a = g1.neighbors(i), b = g0.neighbors(order[i]);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t k = 0; k < a.size(); ++k) ASSERT_EQ(order[a[k]], b[k]) << "row " << i;
  }
  // Same features and labels per original node; splits map to the same original nodes.
  const auto f0 = vec<float>(src.get("features.npy")), f1 = vec<float>(p.get("features.npy"));
  const auto l0 = src.get("labels.npy").to_int64(), l1 = p.get("labels.npy").to_int64();
  const std::int64_t dim = src.meta().feature_dim;
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(l1[i], l0[order[i]]);
    for (std::int64_t j = 0; j < dim; ++j) ASSERT_EQ(f1[i * dim + j], f0[order[i] * dim + j]);
  }
  for (const char* s : {"train_idx.npy", "valid_idx.npy", "test_idx.npy"}) {
    const auto a = src.get(s).to_int64(), b = p.get(s).to_int64();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t k = 0; k < a.size(); ++k) ASSERT_EQ(order[b[k]], a[k]);
  }
  // Hottest first: degree scores do not increase along the new ids.
  std::vector<std::int64_t> out_deg(n, 0);
  for (std::int64_t e = 0; e < g0.num_edges(); ++e) ++out_deg[g0.indices[e]];
  for (std::int64_t i = 1; i < n; ++i) ASSERT_GE(out_deg[order[i - 1]], out_deg[order[i]]);
  // The plan: 10% of the rows on the GPU tier, 50% on the host tier.
  EXPECT_EQ(r.plan.g(), n / 10);
  EXPECT_EQ(r.plan.c(), n / 10 + n / 2);
  const plan_file pf = plan_file::load(p);
  EXPECT_EQ(pf.plan.g(), r.plan.g());
  EXPECT_NEAR(pf.predicted_hit_rate(r.plan.g()), r.predicted_gpu_hit_rate, 0.01);
}

// Large arrays are permuted by streaming the input once per bucket of output rows instead of
// gathering rows through the mapping; any number of passes gives the same bytes as the gather.
TEST(Prepare, StreamedPermutationIsIdenticalToTheGatherForAnyBucketSize) {
  scratch_dir d;
  const dataset src = dataset::open(make_graph(d));
  ::unsetenv("TIERGNN_PERMUTE_BUCKET_BYTES");
  prepare_dataset(src, small_prepare(), d / "gathered");
  prepare_config sharded = small_prepare();
  sharded.shards = 3;
  prepare_dataset(src, sharded, d / "gathered3");
  for (const char* budget : {"1", "1000", "100000000"}) {
    ::setenv("TIERGNN_PERMUTE_BUCKET_BYTES", budget, 1);
    const std::string out = d / (std::string("streamed") + budget);
    prepare_dataset(src, small_prepare(), out);
    prepare_dataset(src, sharded, out + "_3");
    ::unsetenv("TIERGNN_PERMUTE_BUCKET_BYTES");
    for (const char* f : {"features.npy", "labels.npy", "indices.npy", "order.npy"})
      EXPECT_EQ(test::read_text(d / (std::string("gathered/") + f)), test::read_text(out + "/" + f))
          << f << " with a budget of " << budget << " bytes";
    for (int m = 0; m < 3; ++m) {
      const std::string f = shard_file_name(m, 3);
      EXPECT_EQ(test::read_text(d / ("gathered3/" + f)), test::read_text(out + "_3/" + f))
          << f << " with a budget of " << budget << " bytes";
    }
  }
}

// The same inputs and options give the same prepared directory, byte for byte, whatever the thread
// count (plan.json included: it holds no wall time).
TEST(Prepare, SameInputsGiveTheSameFilesForAnyThreadCount) {
  scratch_dir d;
  const dataset src = dataset::open(make_graph(d));
  for (const int threads : {1, 2}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
    prepare_dataset(src, small_prepare(), d / ("p" + std::to_string(threads)));
  }
  for (const auto& e : fs::directory_iterator(d / "p1"))
    EXPECT_EQ(test::read_text(e.path()), test::read_text(d / "p2" / e.path().filename()))
        << e.path().filename() << " differs";
}

TEST(Prepare, TrainingAPreparedDatasetGivesTheSameModel) {
  scratch_dir d;
  const dataset src = dataset::open(make_graph(d));
  prepare_dataset(src, small_prepare(), d / "prep");
  train_config c;
  c.model.hidden = 16;
  c.fanouts = {5, 5};
  c.batch_size = 128;
  c.epochs = 2;
  c.seed = 7;
  c.show_progress = false;
  const train_report a = train(src, c);
  const train_report b = train(dataset::open(d / "prep"), c);
  ASSERT_EQ(a.epochs.size(), b.epochs.size());
  for (std::size_t e = 0; e < a.epochs.size(); ++e) EXPECT_EQ(a.epochs[e].loss, b.epochs[e].loss);
  EXPECT_EQ(a.test_metric, b.test_metric);
  {  // GAT too: attention over the same sampled neighbourhoods, whatever the node numbering.
    train_config g = c;
    g.model.kind = "gat";
    g.model.hidden = 4;
    g.model.attention_dropout = 0.2;
    const train_report ga = train(src, g), gb = train(dataset::open(d / "prep"), g);
    for (std::size_t e = 0; e < ga.epochs.size(); ++e) EXPECT_EQ(ga.epochs[e].loss, gb.epochs[e].loss) << "gat";
    EXPECT_EQ(ga.test_metric, gb.test_metric) << "gat";
  }
  // The ledger: every input row counted once, split over the tiers.
  const traffic& t = b.epochs.back().feature_traffic;
  EXPECT_EQ(t.rows(), b.epochs.back().input_nodes);
  EXPECT_EQ(t.rows(), a.epochs.back().feature_traffic.rows());
  EXPECT_GT(t.gpu_rows, 0);
  EXPECT_GT(t.host_rows, 0);
  EXPECT_GT(t.disk_rows, 0);
}

TEST(FeatureStore, GatherFromEveryTierMatchesTheFileAndCountsAreExact) {
  scratch_dir d;
  const dataset src = dataset::open(make_graph(d));
  const std::int64_t n = src.num_nodes(), dim = src.meta().feature_dim;
  const auto f = vec<float>(src.get("features.npy"));
  const tiered_store s(src, n / 5, n / 2, 3);
  // Ids in every tier, unsorted, with runs of consecutive disk ids; an empty batch too.
  std::vector<std::int64_t> ids{n - 1, 0, n / 5, n / 2, n / 2 + 1, n / 2 + 2, 17, n / 5 - 1, n / 2 - 1, n - 2};
  std::vector<float> out(ids.size() * dim, -1.0f);
  traffic t;
  s.gather(span<const std::int64_t>(ids), out.data(), &t);
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (std::int64_t j = 0; j < dim; ++j) ASSERT_EQ(out[i * dim + j], f[ids[i] * dim + j]) << "id " << ids[i];
  EXPECT_EQ(t.gpu_rows, 3);   // 0, 17, n/5 - 1
  EXPECT_EQ(t.host_rows, 2);  // n/5, n/2 - 1
  EXPECT_EQ(t.disk_rows, 5);
  EXPECT_EQ(t.host_to_gpu_bytes(), 7 * dim * 4);
  EXPECT_EQ(t.baseline_bytes(), 10 * dim * 4);
  s.gather(span<const std::int64_t>(), nullptr, &t);
  EXPECT_EQ(t.rows(), 10);
  const std::vector<std::int64_t> bad{n};
  EXPECT_THROW(s.gather(span<const std::int64_t>(bad), out.data()), input_error);
  // A long batch, checked and copied in parallel chunks: every row lands, the counts add up over the
  // chunks, and an error names the first bad id whichever chunk finds it.
  std::vector<std::int64_t> many(5000);
  for (std::size_t i = 0; i < many.size(); ++i)
    many[i] = static_cast<std::int64_t>((i * 7919) % static_cast<std::size_t>(n));
  std::vector<float> big(many.size() * dim);
  traffic tm;
  s.gather(span<const std::int64_t>(many), big.data(), &tm);
  std::int64_t want_gpu = 0, want_host = 0;
  for (std::size_t i = 0; i < many.size(); ++i) {
    want_gpu += many[i] < n / 5 ? 1 : 0;
    want_host += many[i] >= n / 5 && many[i] < n / 2 ? 1 : 0;
    for (std::int64_t j = 0; j < dim; ++j) ASSERT_EQ(big[i * dim + j], f[many[i] * dim + j]) << "position " << i;
  }
  EXPECT_EQ(tm.gpu_rows, want_gpu);
  EXPECT_EQ(tm.host_rows, want_host);
  EXPECT_EQ(tm.disk_rows, static_cast<std::int64_t>(many.size()) - want_gpu - want_host);
  many[4321] = -3;
  many[1234] = n + 7;
  try {
    s.gather(span<const std::int64_t>(many), big.data());
    ADD_FAILURE() << "no error for bad ids";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("id " + std::to_string(n + 7) + " at position 1234 is outside"),
              std::string::npos)
        << e.what();
  }
}

TEST(FeatureStore, LedgerIsTheSameForAnyThreadCount) {
  scratch_dir d;
  const dataset src = dataset::open(make_graph(d));
  prepare_dataset(src, small_prepare(), d / "prep");
  const dataset p = dataset::open(d / "prep");
  train_config c;
  c.model.hidden = 8;
  c.fanouts = {5, 5};
  c.batch_size = 128;
  c.epochs = 1;
  c.show_progress = false;
  traffic one, two;
  {
    tbb::global_control g(tbb::global_control::max_allowed_parallelism, 1);
    one = train(p, c).epochs[0].feature_traffic;
  }
  {
    tbb::global_control g(tbb::global_control::max_allowed_parallelism, 2);
    two = train(p, c).epochs[0].feature_traffic;
  }
  EXPECT_EQ(one.to_json(), two.to_json());
}

// Sharded: a GPU budget that holds training's reserve but not the feature exchange's buffers beside
// it is refused with both named, and fewer shards among the remedies (R13-F14: the message gave one
// sum and no reason for it).
TEST(PrepareBadInput, AShardedGpuBudgetShortOfTheExchangeNamesIt) {
  scratch_dir d;
  const dataset src = dataset::open(make_graph(d));
  prepare_config c = small_prepare();
  c.shards = 3;
  const reserve_estimate r =
      estimate_reserve(src.num_nodes(), src.meta().feature_dim,
                       src.meta().feature_dim * static_cast<std::int64_t>(dtype_size(src.meta().feature_dtype)),
                       c.fanouts, c.batch_size, c.hidden, std::max<std::int64_t>(src.meta().num_classes, 2));
  const std::uint64_t exchange = sharded_exchange_bytes(r.input_rows, src.meta().feature_dim, 3);
  ASSERT_GT(exchange, 2u);
  c.gpu_mem = std::to_string(r.total() + exchange / 2);  // the reserve fits, the exchange does not
  try {
    prepare_dataset(src, c, d / "out");
    FAIL() << "a budget short of the exchange was accepted";
  } catch (const budget_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("feature exchange between the 3 shards"), std::string::npos) << m;
    EXPECT_NE(m.find("fewer --shards"), std::string::npos) << m;
    EXPECT_NE(m.find("short by"), std::string::npos) << m;
  }
  EXPECT_FALSE(fs::exists(d / "out"));
  c.gpu_mem = std::to_string(r.total() + exchange + (std::uint64_t{1} << 20));
  EXPECT_NO_THROW(prepare_dataset(src, c, d / "out"));
}

TEST(PrepareBadInput, BudgetsAndEstimatorAreCheckedBeforeAnyWork) {
  scratch_dir d;
  const dataset src = dataset::open(make_graph(d));
  auto error_of = [&](prepare_config c) -> std::string {
    try {
      prepare_dataset(src, c, d / "out");
    } catch (const error& e) {
      return e.what();
    }
    return "";
  };
  prepare_config c = small_prepare();
  c.gpu_mem = "1M";  // smaller than the training reserve
  const std::string e = error_of(c);
  EXPECT_NE(e.find("cannot hold training's own GPU memory"), std::string::npos) << e;
  EXPECT_NE(e.find("short by"), std::string::npos) << e;
  c = small_prepare();
  c.gpu_mem = "-5G";
  EXPECT_NE(error_of(c).find("cannot be negative"), std::string::npos);
  c = small_prepare();
  c.host_mem = "lots";
  EXPECT_NE(error_of(c).find("--host-mem 'lots'"), std::string::npos);
  c = small_prepare("magic");
  EXPECT_NE(error_of(c).find("--estimator 'magic' is unknown"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "out"));
  for (const auto& e2 : fs::directory_iterator(d.path()))
    EXPECT_EQ(e2.path().filename().string().find(".out"), std::string::npos);
}

TEST(PrepareBadInput, PlanFromAnotherDatasetOrChangedSourceIsRefused) {
  scratch_dir d;
  const dataset a = dataset::open(make_graph(d, "a", 4000, 3));
  const dataset b = dataset::open(make_graph(d, "b", 4000, 4));
  prepare_dataset(a, small_prepare(), d / "pa");
  prepare_dataset(b, small_prepare(), d / "pb");
  // What loading the plan of the prepared dataset in `dir` refuses it for ("" if it loads).
  const auto load_error = [&](const std::string& dir) -> std::string {
    try {
      plan_file::load(dataset::open(d / dir));
    } catch (const input_error& e) {
      return e.what();
    }
    return "";
  };
  // A plan copied from another prepared dataset.
  fs::copy_file(d / "pa/plan.json", d / "pb/plan.json", fs::copy_options::overwrite_existing);
  EXPECT_NE(load_error("pb").find("belongs to another dataset"), std::string::npos) << load_error("pb");
  // Another prepare's order.npy copied in (a permutation too, under the checksum meta.json records):
  // refused, not trained on under other ids (R11-F4).
  fs::copy(d / "pa", d / "swapped", fs::copy_options::recursive);
  fs::copy_file(d / "pb/order.npy", d / "swapped/order.npy", fs::copy_options::overwrite_existing);
  EXPECT_NE(load_error("swapped").find("order.npy: its contents do not match the checksum"), std::string::npos)
      << load_error("swapped");
  // The source's features.npy copied into the prepared copy (same shape, rows in the old order):
  // refused by its first and last 64 KiB (R13-F12).
  fs::copy(d / "pa", d / "unordered", fs::copy_options::recursive);
  fs::copy_file(d / "a/features.npy", d / "unordered/features.npy", fs::copy_options::overwrite_existing);
  EXPECT_NE(load_error("unordered").find("features.npy: is not the file prepare wrote"), std::string::npos)
      << load_error("unordered");
  // The source changed after prepare: its checksums no longer match (warned about).
  std::vector<std::int64_t> ids = dataset::open(d / "a").get("train_idx.npy").to_int64();
  ids.pop_back();
  write_npy(d / "a/train_idx.npy", span<const std::int64_t>(ids));
  nlohmann::json j = nlohmann::json::parse(test::read_text(d / "a/meta.json"));
  j["arrays"]["train_idx.npy"]["crc32"] = "00000000";
  test::write_text(d / "a/meta.json", j.dump());
  // The prepared copy holds everything it needs: a warning, not a refusal.
  EXPECT_NO_THROW(plan_file::load(dataset::open(d / "pa")));
}

TEST(PrepareBadInput, TrainingBudgetOverridesAreChecked) {
  scratch_dir d;
  const dataset src = dataset::open(make_graph(d));
  train_config c;
  c.fanouts = {5, 5};
  c.show_progress = false;
  c.gpu_mem = "10%";
  try {
    train(src, c);
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a prepared dataset"), std::string::npos) << e.what();
  }
  prepare_dataset(src, small_prepare(), d / "prep");
  c.gpu_mem = "100K";
  try {
    train(dataset::open(d / "prep"), c);
    FAIL();
  } catch (const budget_error& e) {
    EXPECT_NE(std::string(e.what()).find("short by"), std::string::npos) << e.what();
  }
}
