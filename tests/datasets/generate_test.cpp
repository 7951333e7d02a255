// Tests of the synthetic generators (datasets/generate.hpp): valid datasets, exact counts where the
// options define them, byte-identical output for any thread count, seeds that matter, R-MAT degree
// skew and id scrambling, community structure (homophily, labels, splits), features that need the
// graph to be predictive, and option validation.
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "datasets/generate.hpp"
#include "test_util.hpp"

namespace tg {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// Every file of the dataset, byte for byte.
void expect_same_files(const std::string& a, const std::string& b) {
  const auto la = test::list_tree(a), lb = test::list_tree(b);
  ASSERT_EQ(la, lb);
  for (const std::string& entry : la) {
    const std::string name = entry.substr(0, entry.rfind(':'));
    EXPECT_TRUE(read_file(a + "/" + name) == read_file(b + "/" + name)) << name << " differs";
  }
}

std::vector<std::int64_t> in_degrees(const dataset& d) {
  const auto ip = d.indptr().to_int64();
  std::vector<std::int64_t> deg(ip.size() - 1);
  for (std::size_t v = 0; v + 1 < ip.size(); ++v) deg[v] = ip[v + 1] - ip[v];
  return deg;
}

// Nearest-centroid accuracy on `test` rows of x (n x d), centroids estimated from `train` rows.
double nearest_centroid_accuracy(const std::vector<float>& x, std::int64_t d, int k,
                                 const std::vector<std::int64_t>& labels, const std::vector<std::int64_t>& train,
                                 const std::vector<std::int64_t>& test) {
  std::vector<double> c(static_cast<std::size_t>(k * d), 0.0);
  std::vector<std::int64_t> count(static_cast<std::size_t>(k), 0);
  for (std::int64_t v : train) {
    ++count[labels[v]];
    for (std::int64_t j = 0; j < d; ++j) c[labels[v] * d + j] += x[v * d + j];
  }
  for (int a = 0; a < k; ++a)
    for (std::int64_t j = 0; j < d; ++j) c[a * d + j] /= std::max<std::int64_t>(1, count[a]);
  std::int64_t correct = 0;
  for (std::int64_t v : test) {
    int best = 0;
    double best_dist = 1e300;
    for (int a = 0; a < k; ++a) {
      double s = 0;
      for (std::int64_t j = 0; j < d; ++j) {
        const double t = x[v * d + j] - c[a * d + j];
        s += t * t;
      }
      if (s < best_dist) {
        best_dist = s;
        best = a;
      }
    }
    correct += best == labels[v];
  }
  return static_cast<double>(correct) / static_cast<double>(test.size());
}

class Generate : public ::testing::Test {
 protected:
  void SetUp() override { set_log_level(log_level::error); }
  void TearDown() override { set_log_level(log_level::info); }  // later tests in this binary read warnings
  test::scratch_dir tmp;
};

using GenerateRmat = Generate;
using GenerateCommunity = Generate;

TEST_F(GenerateRmat, ExactCountsWhenNothingIsRemoved) {
  rmat_options o;
  o.scale = 10;
  o.edge_factor = 8;
  o.remove_duplicates = false;
  const dataset d = dataset::open(generate_rmat(o, tmp / "directed", false));
  d.check();
  EXPECT_EQ(d.num_nodes(), 1024);
  EXPECT_EQ(d.num_edges(), 8 * 1024);
  EXPECT_TRUE(d.meta().directed);
  EXPECT_EQ(d.meta().source["generator"], "rmat");
  EXPECT_EQ(d.meta().source["edges"]["input_edges"], 8 * 1024);
  EXPECT_FALSE(d.has("features.npy"));
  EXPECT_FALSE(d.has("labels.npy"));

  // Undirected: both directions of every edge, a self-loop stored once.
  const auto ip = d.indptr().to_int64();
  const auto ix = d.indices().to_int64();
  std::int64_t loops = 0;
  for (std::int64_t v = 0; v < d.num_nodes(); ++v)
    for (std::int64_t k = ip[v]; k < ip[v + 1]; ++k) loops += ix[k] == v;
  EXPECT_GT(loops, 0);
  o.undirected = true;
  const dataset u = dataset::open(generate_rmat(o, tmp / "undirected", false));
  u.check();
  EXPECT_EQ(u.num_edges(), 2 * 8 * 1024 - loops);
  EXPECT_FALSE(u.meta().directed);
}

TEST_F(GenerateRmat, RemovesDuplicatesAndSelfLoops) {
  rmat_options o;
  o.scale = 10;
  o.edge_factor = 16;
  o.remove_self_loops = true;
  const dataset d = dataset::open(generate_rmat(o, tmp / "g", false));
  d.check();
  const auto& e = d.meta().source["edges"];
  EXPECT_GT(e["duplicates_removed"].get<std::int64_t>(), 0);  // R-MAT repeats hub-hub edges
  EXPECT_GT(e["self_loops_removed"].get<std::int64_t>(), 0);
  EXPECT_EQ(d.num_edges(),
            16 * 1024 - e["duplicates_removed"].get<std::int64_t>() - e["self_loops_removed"].get<std::int64_t>());
  const auto ip = d.indptr().to_int64();
  const auto ix = d.indices().to_int64();
  for (std::int64_t v = 0; v < d.num_nodes(); ++v)
    for (std::int64_t k = ip[v]; k < ip[v + 1]; ++k) {
      ASSERT_NE(ix[k], v) << "self-loop left at node " << v;
      if (k > ip[v]) {
        ASSERT_LT(ix[k - 1], ix[k]) << "duplicate or unsorted row " << v;
      }
    }
}

TEST_F(GenerateRmat, SameBytesForAnyThreadCount) {
  rmat_options o;
  o.scale = 13;
  o.edge_factor = 12;  // ~98k edges: two pipeline chunks in flight
  o.feature_dim = 12;
  o.num_classes = 5;
  o.seed = 42;
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    generate_rmat(o, tmp / "t1", false);
  }
  {
    tbb::global_control two(tbb::global_control::max_allowed_parallelism, 2);
    generate_rmat(o, tmp / "t2", false);
  }
  generate_rmat(o, tmp / "tdefault", false);
  expect_same_files(tmp / "t1", tmp / "t2");
  expect_same_files(tmp / "t1", tmp / "tdefault");
  const dataset d = dataset::open(tmp / "t1");
  d.check();
  EXPECT_EQ(d.meta().feature_dim, 12);
  const auto f = d.get("features.npy").to_float32();
  double mean = 0, sq = 0;
  for (float x : f) {
    mean += x;
    sq += static_cast<double>(x) * x;
  }
  mean /= static_cast<double>(f.size());
  sq /= static_cast<double>(f.size());
  EXPECT_NEAR(mean, 0.0, 0.01);  // N(0, 1) features
  EXPECT_NEAR(sq, 1.0, 0.02);
}

TEST_F(GenerateRmat, SeedChangesTheGraph) {
  rmat_options o;
  o.scale = 10;
  o.edge_factor = 8;
  generate_rmat(o, tmp / "s1", false);
  o.seed = 2;
  generate_rmat(o, tmp / "s2", false);
  EXPECT_NE(read_file(tmp / "s1/indices.npy"), read_file(tmp / "s2/indices.npy"));
  EXPECT_NE(read_file(tmp / "s1/indptr.npy"), read_file(tmp / "s2/indptr.npy"));
}

TEST_F(GenerateRmat, DegreesAreSkewedAndHubsScrambled) {
  rmat_options o;
  o.scale = 14;
  o.edge_factor = 16;
  o.scramble_ids = false;
  const dataset plain = dataset::open(generate_rmat(o, tmp / "plain", false));
  o.scramble_ids = true;
  const dataset scrambled = dataset::open(generate_rmat(o, tmp / "scrambled", false));
  scrambled.check();
  const auto dp = in_degrees(plain), ds = in_degrees(scrambled);
  const double mean = static_cast<double>(scrambled.num_edges()) / static_cast<double>(scrambled.num_nodes());
  const std::int64_t max_deg = *std::max_element(ds.begin(), ds.end());
  EXPECT_GT(static_cast<double>(max_deg), 20 * mean) << "max in-degree " << max_deg << ", mean " << mean;
  // Without scrambling R-MAT's hub is node 0 (a is the largest probability); the scramble is a
  // bijection on ids, so it moves the hubs but leaves the degree multiset unchanged.
  EXPECT_EQ(std::max_element(dp.begin(), dp.end()) - dp.begin(), 0);
  EXPECT_NE(dp, ds);
  auto sp = dp, ss = ds;
  std::sort(sp.begin(), sp.end());
  std::sort(ss.begin(), ss.end());
  EXPECT_EQ(sp, ss);
  // The 16 largest in-degrees are not all in the lowest 1/16 of ids.
  std::vector<std::int64_t> ids(ds.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + 16, ids.end(),
                    [&](std::int64_t a, std::int64_t b) { return ds[a] > ds[b]; });
  const std::int64_t high =
      std::count_if(ids.begin(), ids.begin() + 16, [&](std::int64_t v) { return v >= scrambled.num_nodes() / 16; });
  EXPECT_GT(high, 8);
}

TEST_F(GenerateRmat, LabelsAndSplits) {
  rmat_options o;
  o.scale = 12;
  o.edge_factor = 4;
  o.num_classes = 7;
  o.train_fraction = 0.3;
  o.valid_fraction = 0.2;
  o.test_fraction = 0.5;  // every node in exactly one split
  const dataset d = dataset::open(generate_rmat(o, tmp / "g", false));
  d.check();
  const auto labels = d.get("labels.npy").to_int64();
  std::vector<std::int64_t> count(7, 0);
  for (std::int64_t l : labels) {
    ASSERT_GE(l, 0);
    ASSERT_LT(l, 7);
    ++count[l];
  }
  for (std::int64_t c : count) EXPECT_NEAR(static_cast<double>(c), 4096.0 / 7, 100);
  const auto tr = d.get("train_idx.npy").to_int64(), va = d.get("valid_idx.npy").to_int64(),
             te = d.get("test_idx.npy").to_int64();
  EXPECT_EQ(tr.size(), 1229u);  // round(0.3 * 4096)
  EXPECT_EQ(tr.size() + va.size(), 2048u);
  EXPECT_EQ(tr.size() + va.size() + te.size(), 4096u);
  std::set<std::int64_t> all(tr.begin(), tr.end());
  all.insert(va.begin(), va.end());
  all.insert(te.begin(), te.end());
  EXPECT_EQ(all.size(), 4096u);
  EXPECT_TRUE(std::is_sorted(tr.begin(), tr.end()));
  // A random split, not a prefix of the ids.
  EXPECT_GT(tr.back(), 4000);
  EXPECT_LT(tr.front(), 100);
}

// Split fractions that round to no node: each empty split is named (the dataset is still written).
TEST_F(GenerateRmat, SplitsThatRoundToNoNodeAreWarnedAbout) {
  rmat_options o;
  o.scale = 7;
  o.edge_factor = 4;
  o.train_fraction = 0.001;
  o.valid_fraction = 0.5;
  o.test_fraction = 0.001;
  o.num_classes = 2;
  set_log_level(log_level::warn);
  testing::internal::CaptureStderr();
  generate_rmat(o, tmp / "g", false);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--train 0.001 of 128 nodes rounds to 0 nodes"), std::string::npos) << err;
  EXPECT_NE(err.find("--test 0.001"), std::string::npos) << err;
  EXPECT_EQ(err.find("--valid"), std::string::npos) << err;
}

TEST_F(GenerateRmat, RejectsBadOptions) {
  auto expect_bad = [&](const rmat_options& o, const std::string& words) {
    try {
      generate_rmat(o, tmp / "bad", false);
      ADD_FAILURE() << "accepted options that should fail with '" << words << "'";
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_TRUE(test::list_tree(tmp.path()).empty()) << "a rejected generate left files behind";
  };
  rmat_options o;
  o.scale = 0;
  expect_bad(o, "scale");
  o.scale = 41;
  expect_bad(o, "scale");
  o = rmat_options{};
  o.edge_factor = 0;
  expect_bad(o, "edge factor");
  o = rmat_options{};
  o.a = 1.2;
  expect_bad(o, "probability a");
  o = rmat_options{};
  o.b = -0.1;
  expect_bad(o, "probability b");
  o = rmat_options{};
  o.a = 0.5;
  o.b = 0.3;
  o.c = 0.3;
  expect_bad(o, "a + b + c");
  o = rmat_options{};
  o.num_classes = 1;
  expect_bad(o, "classes");
  o = rmat_options{};
  o.scale = 4;
  o.num_classes = 17;  // more classes than the 16 nodes
  expect_bad(o, "exceeds the number of nodes");
  o = rmat_options{};
  o.feature_dim = -3;
  expect_bad(o, "feature dimension");
  o = rmat_options{};
  o.train_fraction = 0.7;
  o.test_fraction = 0.5;
  expect_bad(o, "fractions");
  // Per-node arrays that cannot fit in memory are refused before any work, naming the option.
  o = rmat_options{};
  o.scale = 40;
  o.edge_factor = 1;
  expect_bad(o, "--scale 40");
}

TEST_F(GenerateCommunity, StructureLabelsAndSplits) {
  community_options o;
  o.num_nodes = 20000;
  o.avg_degree = 12;
  o.num_classes = 6;
  o.homophily = 0.7;
  o.feature_dim = 8;
  const dataset d = dataset::open(generate_community(o, tmp / "g", false));
  d.check();
  EXPECT_EQ(d.num_nodes(), 20000);
  EXPECT_FALSE(d.meta().directed);
  EXPECT_EQ(d.meta().num_classes, 6);
  EXPECT_EQ(d.meta().source["generator"], "community");
  const auto ip = d.indptr().to_int64();
  const auto ix = d.indices().to_int64();
  const auto labels = d.get("labels.npy").to_int64();
  // Duplicates and self-loops removed, so slightly fewer than nodes * avg_degree arcs.
  EXPECT_LE(d.num_edges(), 20000 * 12);
  EXPECT_GT(d.num_edges(), 20000 * 12 * 9 / 10);
  std::int64_t intra = 0;
  for (std::int64_t v = 0; v < d.num_nodes(); ++v) {
    for (std::int64_t k = ip[v]; k < ip[v + 1]; ++k) {
      const std::int64_t u = ix[k];
      ASSERT_NE(u, v);
      if (k > ip[v]) {
        ASSERT_LT(ix[k - 1], u);
      }
      // Symmetric: v is in u's row.
      ASSERT_TRUE(std::binary_search(ix.begin() + ip[u], ix.begin() + ip[u + 1], v));
      intra += labels[u] == labels[v];
    }
  }
  const double fraction = static_cast<double>(intra) / static_cast<double>(d.num_edges());
  EXPECT_NEAR(fraction, 0.7, 0.03);
  // Labels in range, every community about N / K nodes, and not laid out in contiguous blocks.
  std::vector<std::int64_t> count(6, 0);
  std::int64_t changes = 0;
  for (std::size_t v = 0; v < labels.size(); ++v) {
    ASSERT_GE(labels[v], 0);
    ASSERT_LT(labels[v], 6);
    ++count[labels[v]];
    changes += v > 0 && labels[v] != labels[v - 1];
  }
  for (std::int64_t c : count) EXPECT_NEAR(static_cast<double>(c), 20000.0 / 6, 250);
  EXPECT_GT(changes, 20000 / 2);
  // Splits: exact sizes, disjoint.
  const auto tr = d.get("train_idx.npy").to_int64(), va = d.get("valid_idx.npy").to_int64(),
             te = d.get("test_idx.npy").to_int64();
  EXPECT_EQ(tr.size(), 2000u);
  EXPECT_EQ(va.size(), 2000u);
  EXPECT_EQ(te.size(), 4000u);
  std::set<std::int64_t> all(tr.begin(), tr.end());
  all.insert(va.begin(), va.end());
  all.insert(te.begin(), te.end());
  EXPECT_EQ(all.size(), 8000u);
  // Power-law degrees: the largest far above the mean.
  const auto deg = in_degrees(d);
  const double mean = static_cast<double>(d.num_edges()) / 20000.0;
  EXPECT_GT(static_cast<double>(*std::max_element(deg.begin(), deg.end())), 10 * mean);
}

TEST_F(GenerateCommunity, HomophilyExtremes) {
  community_options o;
  o.num_nodes = 5000;
  o.avg_degree = 8;
  o.num_classes = 4;
  o.feature_dim = 0;
  for (double h : {0.0, 1.0}) {
    o.homophily = h;
    const std::string dir = tmp / ("h" + std::to_string(static_cast<int>(h)));
    const dataset d = dataset::open(generate_community(o, dir, false));
    d.check();
    EXPECT_FALSE(d.has("features.npy"));
    const auto ip = d.indptr().to_int64();
    const auto ix = d.indices().to_int64();
    const auto labels = d.get("labels.npy").to_int64();
    std::int64_t intra = 0;
    for (std::int64_t v = 0; v < d.num_nodes(); ++v)
      for (std::int64_t k = ip[v]; k < ip[v + 1]; ++k) intra += labels[ix[k]] == labels[v];
    EXPECT_EQ(intra, h == 0.0 ? 0 : d.num_edges()) << "homophily " << h;
  }
}

// The defaults are tuned so that a node's features alone predict its class poorly and the mean of
// its neighbours' features predicts it well; measured by a nearest-centroid rule.
TEST_F(GenerateCommunity, DefaultFeaturesNeedTheGraph) {
  const community_options o;
  const dataset d = dataset::open(generate_community(o, tmp / "g", false));
  d.check();
  const std::int64_t n = d.num_nodes(), dim = d.meta().feature_dim;
  const int k = static_cast<int>(d.meta().num_classes);
  const auto x = d.get("features.npy").to_float32();
  const auto labels = d.get("labels.npy").to_int64();
  const auto train = d.get("train_idx.npy").to_int64();
  const auto test = d.get("test_idx.npy").to_int64();
  const auto ip = d.indptr().to_int64();
  const auto ix = d.indices().to_int64();
  std::vector<float> mean(x.size(), 0.0f);
  for (std::int64_t v = 0; v < n; ++v) {
    const std::int64_t deg = ip[v + 1] - ip[v];
    for (std::int64_t e = ip[v]; e < ip[v + 1]; ++e)
      for (std::int64_t j = 0; j < dim; ++j) mean[v * dim + j] += x[ix[e] * dim + j];
    if (deg > 0)
      for (std::int64_t j = 0; j < dim; ++j) mean[v * dim + j] /= static_cast<float>(deg);
  }
  const double own = nearest_centroid_accuracy(x, dim, k, labels, train, test);
  const double neighbours = nearest_centroid_accuracy(mean, dim, k, labels, train, test);
  std::cout << "[ community defaults ] nearest-centroid accuracy: own features " << own << ", neighbour mean "
            << neighbours << "\n";
  RecordProperty("own_features_accuracy", std::to_string(own));
  RecordProperty("neighbour_mean_accuracy", std::to_string(neighbours));
  EXPECT_GT(own, 0.30);
  EXPECT_LT(own, 0.50);
  EXPECT_GT(neighbours, own + 0.25);
}

TEST_F(GenerateCommunity, SameBytesForAnyThreadCountAndSeedMatters) {
  community_options o;
  o.num_nodes = 30000;
  o.avg_degree = 10;  // 150k edges: several pipeline chunks
  o.feature_dim = 16;
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    generate_community(o, tmp / "t1", false);
  }
  {
    tbb::global_control two(tbb::global_control::max_allowed_parallelism, 2);
    generate_community(o, tmp / "t2", false);
  }
  expect_same_files(tmp / "t1", tmp / "t2");
  o.seed = 7;
  generate_community(o, tmp / "s7", false);
  EXPECT_NE(read_file(tmp / "t1/indices.npy"), read_file(tmp / "s7/indices.npy"));
  EXPECT_NE(read_file(tmp / "t1/labels.npy"), read_file(tmp / "s7/labels.npy"));
  EXPECT_NE(read_file(tmp / "t1/features.npy"), read_file(tmp / "s7/features.npy"));
}

TEST_F(GenerateCommunity, RejectsBadOptions) {
  auto expect_bad = [&](const community_options& o, const std::string& words) {
    try {
      generate_community(o, tmp / "bad", false);
      ADD_FAILURE() << "accepted options that should fail with '" << words << "'";
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_TRUE(test::list_tree(tmp.path()).empty()) << "a rejected generate left files behind";
  };
  community_options o;
  o.num_nodes = 1;
  expect_bad(o, "node count");
  o = community_options{};
  o.avg_degree = 0;
  expect_bad(o, "average degree");
  o = community_options{};
  o.avg_degree = std::nan("");
  expect_bad(o, "average degree");
  o = community_options{};
  o.num_classes = 1;
  expect_bad(o, "classes");
  o = community_options{};
  o.homophily = 1.5;
  expect_bad(o, "homophily");
  o = community_options{};
  o.power_law_exponent = 1.0;
  expect_bad(o, "power-law exponent");
  o.power_law_exponent = 1.5;  // R10-3: flatter than 2, not heavier
  expect_bad(o, "from 2 to 100");
  o = community_options{};
  o.feature_noise = -1;
  expect_bad(o, "noise");
  o = community_options{};
  o.feature_signal = 1e39;  // float32 features would overflow
  expect_bad(o, "float32");
  o = community_options{};
  o.valid_fraction = 0.95;
  expect_bad(o, "fractions");
  // Node tables that cannot fit in memory are refused before any work, naming the option.
  o = community_options{};
  o.num_nodes = std::int64_t{1} << 40;
  o.avg_degree = 1;
  o.feature_dim = 0;
  expect_bad(o, "--nodes 1099511627776");
}

TEST(GenerateCli, WritesDatasetsAndReportsBadOptions) {
  test::scratch_dir tmp;
  std::string out;
  ASSERT_EQ(
      test::run_cli("generate rmat " + tmp / "r" + " --scale 8 --edge-factor 4 --classes 3 --feature-dim 4", &out), 0)
      << out;
  const dataset r = dataset::open(tmp / "r");
  EXPECT_EQ(r.num_nodes(), 256);
  EXPECT_EQ(r.meta().num_classes, 3);
  ASSERT_EQ(test::run_cli(
                "generate community " + tmp / "c" + " --nodes 2000 --avg-degree 6 --classes 4 --feature-dim 8", &out),
            0)
      << out;
  EXPECT_EQ(dataset::open(tmp / "c").meta().num_classes, 4);
  // Existing output without --force; then bad option values: one clear line, non-zero status.
  EXPECT_NE(test::run_cli("generate rmat " + tmp / "r" + " --scale 8", &out), 0);
  EXPECT_NE(out.find("--force"), std::string::npos) << out;
  EXPECT_NE(test::run_cli("generate rmat " + tmp / "x" + " --a 0.9 --b 0.2", &out), 0);
  EXPECT_NE(out.find("a + b + c"), std::string::npos) << out;
  EXPECT_NE(test::run_cli("generate community " + tmp / "y" + " --homophily 2", &out), 0);
  EXPECT_NE(out.find("homophily"), std::string::npos) << out;
}

}  // namespace
}  // namespace tg
