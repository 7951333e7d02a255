// GPU neighbour sampler against the CPU sampler (the reference): for the same seed, epoch, batch
// and node keys every array of every block must be identical. Label gpu: the comparisons skip at
// run time without a device; CudaNeighborSampler.WithoutDeviceThrowsCudaError runs everywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "sampler/cuda_sampler.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "sampler/sampling_math.hpp"
#include "test_util.hpp"

using namespace tg;

namespace {

#define TG_SKIP_WITHOUT_DEVICE()                                                                               \
  do {                                                                                                         \
    if (cuda_device_count() == 0)                                                                              \
      GTEST_SKIP() << (cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend"); \
  } while (0)

struct graph_shape {
  std::int64_t max_degree = 12;   // ordinary nodes: degree uniform in [0, max_degree)
  std::int64_t zero_every = 5;    // every zero_every-th node has no in-neighbours (0: none)
  std::int64_t hub_every = 97;    // every hub_every-th node is a hub (0: none)
  std::int64_t hub_degree = 200;  // hubs: degree in [hub_degree, hub_degree + 100)
};

// Random directed graph without duplicate edges (in-neighbour CSR), stored with int32 and int64
// indices, with zero-degree nodes and high-degree hubs.
struct test_graph {
  std::int64_t n = 0;
  std::vector<std::int64_t> indptr;
  std::vector<std::int32_t> indices32;
  std::vector<std::int64_t> indices64;

  test_graph(std::int64_t nodes, std::uint64_t seed, graph_shape shape = {}) : n(nodes) {
    counter_rng rng(seed, 0);
    indptr.push_back(0);
    for (std::int64_t v = 0; v < n; ++v) {
      auto deg = static_cast<std::int64_t>(
          rng.below(static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(shape.max_degree)));
      if (shape.hub_every > 0 && v % shape.hub_every == 1)
        deg = shape.hub_degree + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(v + n), 100));
      else if (shape.zero_every > 0 && v % shape.zero_every == 0)
        deg = 0;
      deg = std::min(deg, n);
      std::set<std::int64_t> nb;
      std::uint64_t pos = 0;
      while (static_cast<std::int64_t>(nb.size()) < deg)
        nb.insert(static_cast<std::int64_t>(
            rng.below((static_cast<std::uint64_t>(v) << 20) + 7 * static_cast<std::uint64_t>(n) + pos++,
                      static_cast<std::uint64_t>(n))));
      // Rows are not sorted in real datasets: rotate each so positions and ids do not agree.
      std::vector<std::int64_t> row(nb.begin(), nb.end());
      if (!row.empty())
        std::rotate(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(v % static_cast<std::int64_t>(row.size())),
                    row.end());
      for (auto u : row) {
        indices64.push_back(u);
        indices32.push_back(static_cast<std::int32_t>(u));
      }
      indptr.push_back(static_cast<std::int64_t>(indices64.size()));
    }
  }
  const void* indices(dtype t) const {
    return t == dtype::int32 ? static_cast<const void*>(indices32.data()) : static_cast<const void*>(indices64.data());
  }
  neighbor_sampler cpu(dtype t, std::vector<std::int64_t> fanouts, std::uint64_t seed) const {
    return neighbor_sampler(n, indptr.data(), indices(t), t, std::move(fanouts), seed);
  }
  cuda_neighbor_sampler gpu(dtype t, std::vector<std::int64_t> fanouts, std::uint64_t seed, csr_placement where) const {
    return cuda_neighbor_sampler(n, indptr.data(), indices(t), t, std::move(fanouts), seed, where);
  }
};

std::vector<std::int64_t> strided_seeds(std::int64_t n, std::int64_t count, std::int64_t stride) {
  std::vector<std::int64_t> s;
  std::set<std::int64_t> seen;
  for (std::int64_t i = 0; static_cast<std::int64_t>(s.size()) < std::min(count, n); ++i)
    if (seen.insert((i * stride) % n).second) s.push_back((i * stride) % n);
  return s;
}

// The first `count` nodes of a seeded random permutation of [0, n).
std::vector<std::int64_t> random_seeds(std::int64_t n, std::int64_t count, std::uint64_t seed) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  const counter_rng rng(seed, 11);
  for (std::int64_t i = n - 1; i > 0; --i)
    std::swap(p[static_cast<std::size_t>(i)],
              p[rng.below(static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(i + 1))]);
  p.resize(static_cast<std::size_t>(std::min(count, n)));
  return p;
}

std::vector<std::int64_t> all_nodes(std::int64_t n) {
  std::vector<std::int64_t> s(static_cast<std::size_t>(n));
  std::iota(s.begin(), s.end(), 0);
  return s;
}

template <typename T>
std::string first_mismatch(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size())
    return "sizes " + std::to_string(a.size()) + " (cpu) vs " + std::to_string(b.size()) + " (gpu)";
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i])
      return "first difference at " + std::to_string(i) + ": " + std::to_string(a[i]) + " (cpu) vs " +
             std::to_string(b[i]) + " (gpu)";
  return "";
}

void expect_same_batch(const sampled_batch& cpu, const sampled_batch& gpu) {
  ASSERT_EQ(cpu.blocks.size(), gpu.blocks.size());
  for (std::size_t l = 0; l < cpu.blocks.size(); ++l) {
    SCOPED_TRACE("block " + std::to_string(l));
    const block& a = cpu.blocks[l];
    const block& b = gpu.blocks[l];
    EXPECT_EQ(a.num_dst, b.num_dst);
    EXPECT_EQ(a.src_nodes, b.src_nodes) << first_mismatch(a.src_nodes, b.src_nodes);
    EXPECT_EQ(a.indptr, b.indptr) << first_mismatch(a.indptr, b.indptr);
    EXPECT_EQ(a.indices, b.indices) << first_mismatch(a.indices, b.indices);
    EXPECT_EQ(a.src_degree, b.src_degree) << first_mismatch(a.src_degree, b.src_degree);
  }
}

struct batch_key {
  std::int64_t epoch, batch;
};
const batch_key kBatches[] = {{0, 0}, {1, 3}, {7, 123456789}};

// Samples every seed set at every (epoch, batch) with both samplers and compares.
void compare_batches(neighbor_sampler& cpu, cuda_neighbor_sampler& gpu,
                     const std::vector<std::vector<std::int64_t>>& seed_sets) {
  sampled_batch a, b;
  for (const auto& seeds : seed_sets)
    for (const auto& k : kBatches) {
      SCOPED_TRACE(std::to_string(seeds.size()) + " seeds, epoch " + std::to_string(k.epoch) + ", batch " +
                   std::to_string(k.batch));
      cpu.sample(span<const std::int64_t>(seeds), k.epoch, k.batch, &a);
      gpu.sample(span<const std::int64_t>(seeds), k.epoch, k.batch, &b);
      expect_same_batch(a, b);
      if (::testing::Test::HasFailure()) return;  // one broken batch is enough output
    }
}

std::string fanouts_text(const std::vector<std::int64_t>& f) {
  std::string s;
  for (auto x : f) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

const csr_placement kPlacements[] = {csr_placement::device, csr_placement::pinned_host};
const dtype kIndexTypes[] = {dtype::int32, dtype::int64};

void compare_all_configurations(const test_graph& g, const std::vector<std::vector<std::int64_t>>& fanout_sets,
                                const std::vector<std::vector<std::int64_t>>& seed_sets, std::uint64_t seed) {
  for (const auto& fanouts : fanout_sets)
    for (dtype t : kIndexTypes)
      for (csr_placement where : kPlacements) {
        SCOPED_TRACE("fanouts " + fanouts_text(fanouts) + ", " + std::string(dtype_name(t)) + " indices, " +
                     (where == csr_placement::device ? "device" : "pinned host") + " CSR");
        auto cpu = g.cpu(t, fanouts, seed);
        auto gpu = g.gpu(t, fanouts, seed, where);
        EXPECT_EQ(gpu.num_layers(), static_cast<int>(fanouts.size()));
        EXPECT_EQ(gpu.placement(), where);
        compare_batches(cpu, gpu, seed_sets);
        if (::testing::Test::HasFailure()) return;
      }
}

}  // namespace

// Runs on every machine: without a device (or without the CUDA backend) construction must throw
// cuda_error, not crash; with one it must succeed.
TEST(CudaNeighborSampler, WithoutDeviceThrowsCudaError) {
  const test_graph g(50, 1);
  const int devices = cuda_device_count();
  for (csr_placement where : kPlacements) {
    if (devices == 0) {
      EXPECT_THROW(g.gpu(dtype::int32, {5, 5}, 1, where), cuda_error);
    } else {
      EXPECT_NO_THROW(g.gpu(dtype::int32, {5, 5}, 1, where));
    }
  }
}

TEST(CudaNeighborSampler, MatchesCpuOnRandomGraph) {
  TG_SKIP_WITHOUT_DEVICE();
  const test_graph g(3001, 1);  // hubs of degree 200..299, every 5th node without in-neighbours
  const std::vector<std::vector<std::int64_t>> fanouts{{15, 10, 5}, {-1}, {1, 1, 1}, {400, 2}, {-1, 3}, {25}};
  const std::vector<std::vector<std::int64_t>> seeds{
      strided_seeds(g.n, 256, 7), random_seeds(g.n, 512, 3), {0}, {1}, {5, 1, 98, 0, 3000}};
  compare_all_configurations(g, fanouts, seeds, 5);
}

TEST(CudaNeighborSampler, MatchesCpuWhenEveryNodeIsASeed) {
  TG_SKIP_WITHOUT_DEVICE();
  const test_graph g(4096, 2);  // ids use exactly 12 bits
  compare_all_configurations(g, {{4, 3}, {-1}}, {all_nodes(g.n), random_seeds(g.n, g.n, 9)}, 77);
}

TEST(CudaNeighborSampler, MatchesCpuOnTinyGraphs) {
  TG_SKIP_WITHOUT_DEVICE();
  {
    // One node with a self-loop: the source is the destination itself.
    const test_graph g(1, 3, graph_shape{2, 0, 0, 0});
    test_graph loop = g;
    loop.indptr = {0, 1};
    loop.indices32 = {0};
    loop.indices64 = {0};
    compare_all_configurations(loop, {{2, 2}, {-1}, {1}}, {{0}, {}}, 1);
  }
  {
    // Two nodes, every node without in-neighbours.
    test_graph g(2, 3, graph_shape{1, 0, 0, 0});
    compare_all_configurations(g, {{3, 3}}, {{0, 1}, {1}}, 2);
  }
  {
    // A star: node 0 has every other node as in-neighbour; the others have none.
    test_graph g(300, 4, graph_shape{1, 0, 0, 0});
    g.indptr.assign(301, 299);
    g.indptr[0] = 0;
    g.indices64.resize(299);
    std::iota(g.indices64.rbegin(), g.indices64.rend(), 1);
    g.indices32.assign(g.indices64.begin(), g.indices64.end());
    compare_all_configurations(g, {{10, 10}, {298}, {299}, {300}, {-1}}, {{0}, {0, 5, 7}, {7, 0}}, 3);
  }
}

TEST(CudaNeighborSampler, MatchesCpuAtScale) {
  TG_SKIP_WITHOUT_DEVICE();
  // Big enough that the CUB sorts and scans run over many tiles, with ids of 18 bits.
  const test_graph g(200003, 6, graph_shape{30, 7, 501, 1000});
  for (csr_placement where : kPlacements) {
    SCOPED_TRACE(where == csr_placement::device ? "device CSR" : "pinned host CSR");
    auto cpu = g.cpu(dtype::int64, {15, 10, 5}, 8);
    auto gpu = g.gpu(dtype::int64, {15, 10, 5}, 8, where);
    compare_batches(cpu, gpu, {random_seeds(g.n, 4096, 1), strided_seeds(g.n, 1024, 13)});
  }
}

TEST(CudaNeighborSampler, EmptySeedListGivesEmptyBlocks) {
  TG_SKIP_WITHOUT_DEVICE();
  const test_graph g(100, 1);
  auto cpu = g.cpu(dtype::int32, {5, 5}, 1);
  auto gpu = g.gpu(dtype::int32, {5, 5}, 1, csr_placement::device);
  const std::vector<std::int64_t> none;
  sampled_batch a, b;
  cpu.sample(span<const std::int64_t>(none), 0, 0, &a);
  gpu.sample(span<const std::int64_t>(none), 0, 0, &b);
  expect_same_batch(a, b);
  ASSERT_EQ(b.blocks.size(), 2u);
  EXPECT_EQ(b.blocks[0].indptr, std::vector<std::int64_t>{0});
  EXPECT_EQ(gpu.sample_on_device(span<const std::int64_t>(none), 0, 0), 0);
}

TEST(CudaNeighborSampler, BuffersAreReusedAcrossBatchesOfChangingSize) {
  TG_SKIP_WITHOUT_DEVICE();
  const test_graph g(20011, 4);
  for (csr_placement where : kPlacements) {
    auto cpu = g.cpu(dtype::int32, {10, 5}, 3);
    auto gpu = g.gpu(dtype::int32, {10, 5}, 3, where);
    // Small, large (scratch grows), empty, small again (scratch is larger than needed), large.
    compare_batches(cpu, gpu,
                    {random_seeds(g.n, 10, 1),
                     random_seeds(g.n, 3000, 2),
                     {},
                     strided_seeds(g.n, 7, 3),
                     random_seeds(g.n, 2500, 4),
                     random_seeds(g.n, 10, 1)});
  }
}

TEST(CudaNeighborSampler, SampleOnDeviceCountsTheCpuEdges) {
  TG_SKIP_WITHOUT_DEVICE();
  const test_graph g(3001, 1);
  const auto seeds = random_seeds(g.n, 300, 5);
  for (csr_placement where : kPlacements) {
    auto cpu = g.cpu(dtype::int64, {15, 10}, 4);
    auto gpu = g.gpu(dtype::int64, {15, 10}, 4, where);
    sampled_batch a, b;
    cpu.sample(span<const std::int64_t>(seeds), 2, 9, &a);
    EXPECT_EQ(gpu.sample_on_device(span<const std::int64_t>(seeds), 2, 9), a.num_sampled_edges());
    // The device blocks of sample_on_device do not disturb a later sample().
    gpu.sample(span<const std::int64_t>(seeds), 2, 9, &b);
    expect_same_batch(a, b);
  }
}

TEST(CudaNeighborSampler, NodeKeysMatchCpu) {
  TG_SKIP_WITHOUT_DEVICE();
  const test_graph g(3001, 7);
  std::vector<std::int64_t> keys = random_seeds(g.n, g.n, 42);  // a permutation of [0, N)
  for (dtype t : kIndexTypes)
    for (csr_placement where : kPlacements) {
      SCOPED_TRACE(std::string(dtype_name(t)) + (where == csr_placement::device ? ", device" : ", pinned host"));
      auto cpu = g.cpu(t, {10, 5}, 6);
      auto gpu = g.gpu(t, {10, 5}, 6, where);
      cpu.set_node_keys(span<const std::int64_t>(keys));
      gpu.set_node_keys(span<const std::int64_t>(keys));
      const std::vector<std::vector<std::int64_t>> seeds{random_seeds(g.n, 400, 8), {1, 2, 3}};
      compare_batches(cpu, gpu, seeds);
      // Keys change the draws: without them the same batch differs.
      sampled_batch keyed, plain;
      gpu.sample(span<const std::int64_t>(seeds[0]), 0, 0, &keyed);
      cpu.set_node_keys({});
      gpu.set_node_keys({});
      compare_batches(cpu, gpu, seeds);
      gpu.sample(span<const std::int64_t>(seeds[0]), 0, 0, &plain);
      EXPECT_NE(keyed.blocks[0].src_nodes, plain.blocks[0].src_nodes);
      const std::vector<std::int64_t> short_keys(10, 0);
      EXPECT_THROW(gpu.set_node_keys(span<const std::int64_t>(short_keys)), input_error);
    }
}

TEST(CudaNeighborSampler, DatasetConstructorMatchesCpu) {
  TG_SKIP_WITHOUT_DEVICE();
  const test_graph g(1000, 9);
  test::scratch_dir dir;
  {
    dataset_writer w(dir / "ds");
    w.put("indptr.npy", g.indptr);
    w.put("indices.npy", g.indices32);
    w.meta().name = "sampler_gpu";
    w.meta().num_nodes = g.n;
    w.meta().num_edges = static_cast<std::int64_t>(g.indices32.size());
    w.meta().index_dtype = dtype::int32;
    w.commit();
  }
  const dataset d = dataset::open(dir / "ds");
  neighbor_sampler cpu(d, {8, 4}, 12);
  cuda_neighbor_sampler gpu(d, {8, 4}, 12, csr_placement::device);
  compare_batches(cpu, gpu, {random_seeds(g.n, 100, 1)});
}

// Bad fanouts and seeds: input_error with the CPU sampler's message, and the sampler stays usable.
TEST(CudaNeighborSampler, BadInputRaisesInputErrorLikeCpu) {
  TG_SKIP_WITHOUT_DEVICE();
  const test_graph g(100, 1);
  for (const std::vector<std::int64_t>& f :
       std::vector<std::vector<std::int64_t>>{{}, {10, 0}, {-2}, {kMaxFanout + 1}}) {
    EXPECT_THROW(g.gpu(dtype::int32, f, 1, csr_placement::device), input_error) << fanouts_text(f);
    EXPECT_THROW(g.gpu(dtype::int32, f, 1, csr_placement::pinned_host), input_error) << fanouts_text(f);
  }
  auto cpu = g.cpu(dtype::int32, {5}, 1);
  auto gpu = g.gpu(dtype::int32, {5}, 1, csr_placement::device);
  const std::vector<std::vector<std::int64_t>> bad{{3, 3}, {100}, {-1}, {1, 2, 3, 2}, {4, 5, 4, 200}};
  for (const auto& seeds : bad) {
    std::string cpu_message, gpu_message;
    sampled_batch out;
    try {
      cpu.sample(span<const std::int64_t>(seeds), 0, 0, &out);
    } catch (const input_error& e) {
      cpu_message = e.what();
    }
    try {
      gpu.sample(span<const std::int64_t>(seeds), 0, 0, &out);
    } catch (const input_error& e) {
      gpu_message = e.what();
    }
    EXPECT_FALSE(gpu_message.empty()) << "input_error expected";
    EXPECT_EQ(gpu_message, cpu_message);
    EXPECT_THROW(gpu.sample_on_device(span<const std::int64_t>(seeds), 0, 0), input_error);
  }
  compare_batches(cpu, gpu, {{3, 4, 5}});
}
