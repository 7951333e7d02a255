#include <gtest/gtest.h>

#include "sampler/sampling_math.hpp"
#include <tbb/global_control.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <unordered_set>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "sampler/neighbor_sampler.hpp"

using namespace tg;

namespace {
// Random directed graph without duplicate edges: node v gets deg(v) distinct in-neighbours, with a
// few hubs of high degree, so rows exercise both deg <= fanout and deg > fanout.
struct test_graph {
  std::int64_t n = 0;
  std::vector<std::int64_t> indptr;
  std::vector<std::int32_t> indices;
  explicit test_graph(std::int64_t nodes, std::uint64_t seed = 1) : n(nodes) {
    counter_rng rng(seed, 0);
    indptr.push_back(0);
    for (std::int64_t v = 0; v < n; ++v) {
      std::int64_t deg = static_cast<std::int64_t>(rng.below(v, 12));
      if (v % 97 == 0) deg = 200 + static_cast<std::int64_t>(rng.below(v + n, 100));
      deg = std::min(deg, n / 2);
      std::set<std::int32_t> nb;
      std::uint64_t pos = 0;
      while (static_cast<std::int64_t>(nb.size()) < deg)
        nb.insert(static_cast<std::int32_t>(rng.below((static_cast<std::uint64_t>(v) << 20) + 7 * n + pos++, n)));
      indices.insert(indices.end(), nb.begin(), nb.end());
      indptr.push_back(static_cast<std::int64_t>(indices.size()));
    }
  }
  neighbor_sampler sampler(std::vector<std::int64_t> fanouts, std::uint64_t seed = 5) const {
    return neighbor_sampler(n, indptr.data(), indices.data(), dtype::int32, std::move(fanouts), seed);
  }
  bool has_edge(std::int64_t u, std::int64_t v) const {
    return std::binary_search(indices.begin() + indptr[v], indices.begin() + indptr[v + 1],
                              static_cast<std::int32_t>(u));
  }
};

std::vector<std::int64_t> seeds_of(std::int64_t n, std::int64_t count, std::int64_t stride = 7) {
  std::vector<std::int64_t> s;
  for (std::int64_t i = 0; i < count; ++i) s.push_back((i * stride) % n);
  return s;
}
}  // namespace

TEST(NeighborSampler, BlocksSatisfyEveryProperty) {
  const test_graph g(3000);
  const std::vector<std::int64_t> fanouts{15, 10, 5};
  auto s = g.sampler(fanouts);
  sampled_batch out;
  const auto seeds = seeds_of(g.n, 256);
  s.sample(span<const std::int64_t>(seeds), 0, 0, &out);
  ASSERT_EQ(out.blocks.size(), 3u);
  EXPECT_EQ(std::vector<std::int64_t>(out.seeds().begin(), out.seeds().end()), seeds);
  for (std::size_t l = 0; l < 3; ++l) {
    const block& b = out.blocks[l];
    const std::int64_t fanout = fanouts[2 - l];  // block 0 is the last hop
    // Destinations of block l+1's sources ... block l's destinations are block l+1's sources.
    if (l + 1 < 3) {
      EXPECT_EQ(b.dst_nodes().size(), out.blocks[l + 1].src_nodes.size());
    }
    std::unordered_set<std::int64_t> uniq(b.src_nodes.begin(), b.src_nodes.end());
    EXPECT_EQ(uniq.size(), b.src_nodes.size()) << "source nodes must be unique";
    for (std::int64_t i = 0; i < b.num_dst; ++i) {
      const std::int64_t v = b.src_nodes[i];
      const std::int64_t deg = g.indptr[v + 1] - g.indptr[v];
      const std::int64_t k = b.indptr[i + 1] - b.indptr[i];
      EXPECT_EQ(k, std::min(deg, fanout)) << "all neighbours when deg <= fanout, else exactly fanout";
      std::set<std::int64_t> nb;
      for (std::int64_t e = b.indptr[i]; e < b.indptr[i + 1]; ++e) {
        const std::int64_t u = b.src_nodes[b.indices[e]];  // relabelling round-trips to global ids
        EXPECT_TRUE(g.has_edge(u, v)) << u << " -> " << v;
        nb.insert(u);
      }
      EXPECT_EQ(static_cast<std::int64_t>(nb.size()), k) << "no duplicate samples";
    }
  }
}

TEST(NeighborSampler, SameOutputForAnyThreadCount) {
  const test_graph g(5000);
  const auto seeds = seeds_of(g.n, 1024, 3);
  sampled_batch a, b;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    g.sampler({10, 10}).sample(span<const std::int64_t>(seeds), 2, 7, &a);
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    g.sampler({10, 10}).sample(span<const std::int64_t>(seeds), 2, 7, &b);
  }
  for (int l = 0; l < 2; ++l) {
    EXPECT_EQ(a.blocks[l].src_nodes, b.blocks[l].src_nodes);
    EXPECT_EQ(a.blocks[l].indptr, b.blocks[l].indptr);
    EXPECT_EQ(a.blocks[l].indices, b.blocks[l].indices);
  }
  sampled_batch c;
  g.sampler({10, 10}).sample(span<const std::int64_t>(seeds), 2, 8, &c);  // another batch index
  EXPECT_NE(a.blocks[0].src_nodes, c.blocks[0].src_nodes);
}

// Hops of 2^15 edges or more relabel in parallel passes: the same blocks as the serial loop, with
// one thread or two, batch after batch (the map is back to empty between batches).
TEST(NeighborSampler, ParallelRelabelGivesTheSerialIds) {
  const test_graph g(20000);
  for (int threads : {1, 2}) {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
    auto serial = g.sampler({15, 10, 5});
    auto parallel = g.sampler({15, 10, 5});
    serial.set_parallel_relabel_min_threads(1 << 30);
    parallel.set_parallel_relabel_min_threads(1);
    for (std::int64_t batch = 0; batch < 4; ++batch) {
      const auto seeds = seeds_of(g.n, 2048, 3 + 2 * batch);  // other seeds each batch
      sampled_batch a, b;
      serial.sample(span<const std::int64_t>(seeds), 1, batch, &a);
      parallel.sample(span<const std::int64_t>(seeds), 1, batch, &b);
      ASSERT_GE(a.blocks[0].indices.size(), std::size_t{1} << 15) << "the largest hop takes the parallel path";
      for (int l = 0; l < 3; ++l) {
        EXPECT_EQ(a.blocks[l].src_nodes, b.blocks[l].src_nodes) << "threads " << threads << ", layer " << l;
        EXPECT_EQ(a.blocks[l].indptr, b.blocks[l].indptr);
        EXPECT_EQ(a.blocks[l].indices, b.blocks[l].indices);
        EXPECT_EQ(a.blocks[l].src_degree, b.blocks[l].src_degree);
      }
    }
  }
}

TEST(NeighborSampler, BuffersAreReusedAcrossBatches) {
  const test_graph g(2000);
  auto s = g.sampler({5, 5});
  sampled_batch out;
  const auto seeds = seeds_of(g.n, 100);
  s.sample(span<const std::int64_t>(seeds), 0, 0, &out);
  const auto first = out.blocks[0].src_nodes;
  s.sample(span<const std::int64_t>(seeds), 0, 1, &out);
  s.sample(span<const std::int64_t>(seeds), 0, 0, &out);
  EXPECT_EQ(out.blocks[0].src_nodes, first);
}

TEST(NeighborSampler, UniformOverNeighboursChiSquare) {
  // One node with 40 in-neighbours, fanout 8: each neighbour is picked with probability 8/40.
  const std::int64_t deg = 40, fanout = 8, trials = 20000;
  std::vector<std::int64_t> indptr{0, deg};
  std::vector<std::int32_t> indices(deg);
  std::iota(indices.begin(), indices.end(), 1);
  for (std::int64_t v = 1; v <= deg; ++v) indptr.push_back(deg);
  neighbor_sampler s(deg + 1, indptr.data(), indices.data(), dtype::int32, {fanout}, 99);
  std::vector<std::int64_t> count(deg + 1, 0);
  sampled_batch out;
  const std::vector<std::int64_t> seed{0};
  for (std::int64_t t = 0; t < trials; ++t) {
    s.sample(span<const std::int64_t>(seed), 0, t, &out);
    for (std::int64_t i = 1; i < out.blocks[0].num_src(); ++i) ++count[out.blocks[0].src_nodes[i]];
  }
  const double expected = static_cast<double>(trials) * fanout / deg;
  double chi2 = 0;
  for (std::int64_t u = 1; u <= deg; ++u) chi2 += (count[u] - expected) * (count[u] - expected) / expected;
  // 39 degrees of freedom; the 99.9% quantile is 72.05. (The counts are not independent across
  // neighbours, which makes the statistic smaller, not larger.)
  EXPECT_LT(chi2, 72.05);
  EXPECT_GT(chi2, 5.0) << "suspiciously perfect: sampling is probably not random";
}

// Large k takes a hash set instead of the scan (R10-1: a fanout just below a hub's degree was
// quadratic, 23 s a draw); the positions must be exactly the scan's, which the device computes.
TEST(NeighborSampler, LargeSelectionsMatchFloydsScanExactly) {
  const auto reference = [](const tg::counter_rng& rng, std::int64_t node, std::int64_t degree, std::int64_t k) {
    std::vector<std::int64_t> out(static_cast<std::size_t>(k));
    const std::uint64_t base = static_cast<std::uint64_t>(node) << 24;
    for (std::int64_t i = 0; i < k; ++i) {
      const std::int64_t j = degree - k + i;
      const auto t =
          static_cast<std::int64_t>(rng.below(base | static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j + 1)));
      bool taken = false;
      for (std::int64_t q = 0; q < i; ++q) taken |= out[static_cast<std::size_t>(q)] == t;
      out[static_cast<std::size_t>(i)] = taken ? j : t;
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const tg::counter_rng rng = tg::hop_rng(7, 1, 2, 0);
  for (const auto& [degree, k] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {70, 65}, {100, 99}, {1000, 65}, {1000, 500}, {1000, 999}, {5000, 4999}, {20000, 3000}, {1 << 20, 70}}) {
    for (std::int64_t node : {0, 1, 12345}) {
      std::vector<std::int64_t> got(static_cast<std::size_t>(k));
      tg::select_positions(rng, node, degree, k, got.data());
      EXPECT_EQ(got, reference(rng, node, degree, k)) << "degree " << degree << " k " << k << " node " << node;
    }
  }
}

TEST(NeighborSampler, AllNeighboursWithMinusOne) {
  const test_graph g(1000);
  auto s = g.sampler({-1});
  sampled_batch out;
  const std::vector<std::int64_t> seeds{0, 97, 194};
  s.sample(span<const std::int64_t>(seeds), 0, 0, &out);
  for (std::int64_t i = 0; i < 3; ++i)
    EXPECT_EQ(out.blocks[0].indptr[i + 1] - out.blocks[0].indptr[i], g.indptr[seeds[i] + 1] - g.indptr[seeds[i]]);
}

TEST(NeighborSamplerBadInput, FanoutsAndSeeds) {
  const test_graph g(100);
  EXPECT_THROW(g.sampler({}), input_error);
  EXPECT_THROW(g.sampler({10, 0}), input_error);
  EXPECT_THROW(g.sampler({-2}), input_error);
  auto s = g.sampler({5});
  sampled_batch out;
  const std::vector<std::int64_t> dup{3, 3}, bad{100};
  EXPECT_THROW(s.sample(span<const std::int64_t>(dup), 0, 0, &out), input_error);
  EXPECT_THROW(s.sample(span<const std::int64_t>(bad), 0, 0, &out), input_error);
  EXPECT_EQ(parse_fanouts("15,10,-1"), (std::vector<std::int64_t>{15, 10, -1}));
  EXPECT_THROW(parse_fanouts("15,x"), input_error);
  EXPECT_THROW(parse_fanouts(""), input_error);
}
