// The CUDA tiered store against the CPU store: the same rows (bit for bit, float16 widened the same
// way) and the same ledger counts for random ids in every tier, repeated ids, empty batches and row
// sizes that are not multiples of 16 or 128 bytes; the budget check; clean failure without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "test_util.hpp"
#include "tiering/cuda_feature_store.hpp"
#include "tiering/feature_store.hpp"

using namespace tg;

namespace {

#define TG_SKIP_WITHOUT_GPU()   \
  if (cuda_device_count() == 0) \
  GTEST_SKIP() << (cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend")

// A dataset with no edges and n random feature rows of `dim` elements of type t.
std::string write_features(const test::scratch_dir& d, const std::string& name, std::int64_t n, std::int64_t dim,
                           dtype t, std::uint64_t seed) {
  dataset_writer w(d / name);
  w.put("indptr.npy", std::vector<std::int64_t>(static_cast<std::size_t>(n) + 1, 0));
  w.put("indices.npy", std::vector<std::int32_t>{});
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 3.f);
  if (t == dtype::float32) {
    std::vector<float> f(static_cast<std::size_t>(n * dim));
    for (auto& x : f) x = nd(rng);
    w.put("features.npy", t, {n, dim}, f.data());
  } else {
    std::vector<std::uint16_t> f(static_cast<std::size_t>(n * dim));
    for (auto& x : f) x = float_to_half(nd(rng));
    w.put("features.npy", t, {n, dim}, f.data());
  }
  auto& m = w.meta();
  m.name = name;
  m.num_nodes = n;
  m.num_edges = 0;
  m.feature_dim = dim;
  m.feature_dtype = t;
  return w.commit();
}

std::vector<std::int64_t> random_ids(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi, std::size_t k) {
  std::vector<std::int64_t> v(k);
  std::uniform_int_distribution<std::int64_t> u(lo, hi - 1);
  for (auto& x : v) x = u(rng);
  return v;
}

}  // namespace

TEST(CudaFeatureStore, GatherAndLedgerMatchTheCpuStore) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const std::int64_t n = 3000;
  struct shape {
    dtype t;
    std::int64_t dim;
  };
  // Row bytes: 12, 20, 148, 256, 512, 1024 (float32); 14, 66, 512 (float16).
  const shape shapes[] = {{dtype::float32, 3},  {dtype::float32, 5},   {dtype::float32, 37},
                          {dtype::float32, 64}, {dtype::float32, 128}, {dtype::float32, 256},
                          {dtype::float16, 7},  {dtype::float16, 33},  {dtype::float16, 256}};
  std::mt19937_64 rng(11);
  int k = 0;
  for (const shape& sh : shapes) {
    const std::string path = write_features(d, "f" + std::to_string(k++), n, sh.dim, sh.t, rng());
    const dataset ds = dataset::open(path);
    const std::int64_t g = n / 5, c = n / 2;
    const tiered_store cpu(ds, g, c, 2);
    for (int mode : {0, 1, 2}) {
      static const char* names[] = {" pinned copy, zero-copy reads", " registered file, zero-copy reads",
                                    " CPU gather + DMA copy"};
      SCOPED_TRACE(std::string(dtype_name(sh.t)) + " dim " + std::to_string(sh.dim) + names[mode]);
      cuda_tiered_store::options o;
      o.register_host_tier = mode == 1;
      o.cpu_gather_copy = mode == 2;
      o.disk_readers = 3;
      cuda_tiered_store gpu(ds, g, c, o);
      std::vector<std::vector<std::int64_t>> batches;
      batches.push_back({});                                        // empty
      batches.push_back(random_ids(rng, 0, g, 50));                 // GPU tier only
      batches.push_back(random_ids(rng, g, c, 70));                 // host tier only
      batches.push_back(random_ids(rng, c, n, 90));                 // disk tier only
      batches.push_back(random_ids(rng, 0, n, 2000));               // every tier, with repeats
      batches.push_back({n - 1, 0, g, g - 1, c - 1, c, n - 1, 0});  // boundaries, repeated
      traffic tc, tgpu;
      for (const auto& ids : batches) {
        std::vector<float> a(ids.size() * static_cast<std::size_t>(sh.dim)), b(a.size());
        cpu.gather(ids, a.data(), &tc);
        gpu.gather_to_host(ids, b.data(), &tgpu);
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << ids.size() << " ids";
        const traffic want = cpu.count(ids);
        traffic one;
        gpu.gather_to_host(ids, b.data(), &one);
        EXPECT_EQ(one.gpu_rows, want.gpu_rows);
        EXPECT_EQ(one.host_rows, want.host_rows);
        EXPECT_EQ(one.disk_rows, want.disk_rows);
      }
      EXPECT_EQ(tgpu.batches, tc.batches);
      EXPECT_EQ(tgpu.gpu_rows, tc.gpu_rows);
      EXPECT_EQ(tgpu.host_rows, tc.host_rows);
      EXPECT_EQ(tgpu.disk_rows, tc.disk_rows);
      EXPECT_EQ(tgpu.host_to_gpu_bytes(), tc.host_to_gpu_bytes());
    }
  }
}

TEST(CudaFeatureStore, AllTiersEmptyOrFullWork) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const dataset ds = dataset::open(write_features(d, "f", 500, 16, dtype::float32, 3));
  const tiered_store cpu(ds, 0, 500);
  std::mt19937_64 rng(5);
  const auto ids = random_ids(rng, 0, 500, 300);
  std::vector<float> want(ids.size() * 16), got(want.size());
  cpu.gather(ids, want.data());
  for (auto [g, c] : {std::pair<std::int64_t, std::int64_t>{0, 0}, {500, 500}, {0, 500}, {250, 250}}) {
    cuda_tiered_store s(ds, g, c, {});
    s.gather_to_host(ids, got.data());
    EXPECT_EQ(want, got) << "g=" << g << " c=" << c;
  }
}

TEST(CudaFeatureStore, BadIdsAndBudgetsFailBeforeWork) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const dataset ds = dataset::open(write_features(d, "f", 100, 8, dtype::float32, 3));
  cuda_tiered_store s(ds, 10, 50, {});
  std::vector<float> out(16);
  try {
    s.gather_to_host(std::vector<std::int64_t>{3, 100}, out.data());
    FAIL() << "an id out of range was accepted";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("id 100 at position 1"), std::string::npos) << e.what();
  }
  cuda_tiered_store::options o;
  o.reserve_bytes = gpu::device_memory_info().total;  // can never fit beside the tier
  try {
    cuda_tiered_store big(ds, 10, 50, o);
    FAIL() << "a plan that cannot fit was accepted";
  } catch (const budget_error& e) {
    EXPECT_NE(std::string(e.what()).find("over"), std::string::npos) << e.what();
  }
}

TEST(CudaFeatureStore, WithoutADeviceConstructionFailsCleanly) {
  if (cuda_device_count() != 0) GTEST_SKIP() << "this machine has a device (the test is for machines without one)";
  test::scratch_dir d;
  const dataset ds = dataset::open(write_features(d, "f", 10, 4, dtype::float32, 1));
  EXPECT_THROW(cuda_tiered_store(ds, 2, 5, {}), cuda_error);
}
