// The CUDA tiered store against the CPU store: the same rows (bit for bit, float16 widened the same
// way) and the same ledger counts for random ids in every tier, repeated ids, empty batches and row
// sizes that are not multiples of 16 or 128 bytes; the budget check; clean failure without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "test_util.hpp"
#include "tiering/cuda_feature_store.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/tiered_gather.hpp"

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

// One case per (dtype, width, host-tier mode), so a CUDA error in one case fails that case alone
// and every other still runs. Row bytes: 12, 20, 148, 256, 512, 1024 (float32); 14, 66, 512
// (float16). g = 601 puts the host tier's first row at a start that is not 16-byte aligned for
// the widths that are not multiples of 16 bytes.
struct store_case {
  dtype t;
  std::int64_t dim;
  int mode;  // 0 pinned copy, 1 the file's mapping registered in place, 2 CPU gather + DMA copy
};

std::string case_name(const ::testing::TestParamInfo<store_case>& i) {
  static const char* modes[] = {"PinnedCopy", "RegisteredFile", "CpuGatherCopy"};
  return std::string(dtype_name(i.param.t)) + "_dim" + std::to_string(i.param.dim) + "_" + modes[i.param.mode];
}

std::vector<store_case> store_cases() {
  std::vector<store_case> v;
  const std::pair<dtype, std::int64_t> shapes[] = {{dtype::float32, 3},  {dtype::float32, 5},   {dtype::float32, 37},
                                                   {dtype::float32, 64}, {dtype::float32, 128}, {dtype::float32, 256},
                                                   {dtype::float16, 7},  {dtype::float16, 33},  {dtype::float16, 256}};
  for (const auto& [t, dim] : shapes)
    for (int mode : {0, 1, 2}) v.push_back({t, dim, mode});
  return v;
}

class CudaStoreCase : public ::testing::TestWithParam<store_case> {};

TEST_P(CudaStoreCase, GatherAndLedgerMatchTheCpuStore) {
  TG_SKIP_WITHOUT_GPU();
  const store_case sc = GetParam();
  test::scratch_dir d;
  const std::int64_t n = 3000;
  std::mt19937_64 rng(11 + static_cast<std::uint64_t>(sc.dim) * 3 + static_cast<std::uint64_t>(sc.mode));
  const dataset ds = dataset::open(write_features(d, "f", n, sc.dim, sc.t, rng()));
  const std::int64_t g = 601, c = n / 2;
  const tiered_store cpu(ds, g, c, 2);
  cuda_tiered_store::options o;
  o.register_host_tier = sc.mode == 1;
  o.cpu_gather_copy = sc.mode == 2;
  o.disk_readers = 3;
  const int before = gpu::current_device();
  cuda_tiered_store gpu(ds, g, c, o);
  EXPECT_EQ(before, gpu::current_device()) << "the store left the caller's current device changed";
  if (sc.mode == 1) {
    EXPECT_NE(gpu.host_tier_mode().find("registered"), std::string::npos) << gpu.host_tier_mode();
  }
  std::vector<std::vector<std::int64_t>> batches;
  batches.push_back({});                                        // empty
  batches.push_back(random_ids(rng, 0, g, 50));                 // GPU tier only
  batches.push_back(random_ids(rng, g, c, 70));                 // host tier only
  batches.push_back(random_ids(rng, c, n, 90));                 // disk tier only
  batches.push_back(random_ids(rng, 0, n, 2000));               // every tier, with repeats
  batches.push_back({n - 1, 0, g, g - 1, c - 1, c, n - 1, 0});  // boundaries, repeated
  traffic tc, tgpu;
  for (const auto& ids : batches) {
    std::vector<float> a(ids.size() * static_cast<std::size_t>(sc.dim)), b(a.size());
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
  EXPECT_EQ(before, gpu::current_device());
}

INSTANTIATE_TEST_SUITE_P(EveryShapeAndHostMode, CudaStoreCase, ::testing::ValuesIn(store_cases()), case_name);

TEST(CudaFeatureStore, RegisteredHostTierStartingOffA16ByteBoundary) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const std::int64_t n = 2000, dim = 5, g = 601, c = 1700;  // 20-byte rows
  const dataset ds = dataset::open(write_features(d, "f", n, dim, dtype::float32, 9));
  const auto start = reinterpret_cast<std::uintptr_t>(ds.get("features.npy").raw()) + g * dim * 4;
  ASSERT_NE(start % 16, 0u) << "the case must start the host tier off a 16-byte boundary";
  cuda_tiered_store::options o;
  o.register_host_tier = true;
  cuda_tiered_store s(ds, g, c, o);
  const tiered_store cpu(ds, g, c);
  std::vector<std::int64_t> ids;
  for (std::int64_t v = g; v < c; ++v) ids.push_back(v);  // every host row, the first and last included
  std::vector<float> want(ids.size() * dim), got(want.size());
  cpu.gather(ids, want.data());
  s.gather_to_host(ids, got.data());
  EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
}

TEST(CudaFeatureStore, GathersFromAnotherThreadAndLeavesItsDeviceAlone) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const dataset ds = dataset::open(write_features(d, "f", 400, 8, dtype::float32, 4));
  const int last = cuda_device_count() - 1;
  cuda_tiered_store::options o;
  o.device = last;
  cuda_tiered_store s(ds, 100, 300, o);
  EXPECT_EQ(last, s.device());
  const tiered_store cpu(ds, 100, 300);
  std::vector<std::int64_t> ids{0, 150, 399, 7};
  std::vector<float> want(ids.size() * 8), got(want.size());
  cpu.gather(ids, want.data());
  std::thread t([&] {
    gpu::set_device(0);  // a thread whose current device is (possibly) not the store's
    s.gather_to_host(ids, got.data());
    EXPECT_EQ(0, gpu::current_device());
  });
  t.join();
  EXPECT_EQ(want, got);
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

// The kernel's byte offsets (id x row bytes) past 4 GiB: a GPU tier of 4.5 GiB, rows written only
// where the gather reads, for an aligned float32 width and an unaligned float16 one.
TEST(CudaTieredGather, ByteOffsetsAbove4GiB) {
  TG_SKIP_WITHOUT_GPU();
  const std::size_t tier_bytes = std::size_t{9} << 29;  // 4.5 GiB
  if (gpu::device_memory_info().free < tier_bytes + (std::size_t{1} << 30))
    GTEST_SKIP() << "needs 5.5 GiB of free device memory";
  gpu::stream s;
  for (const auto& [t, dim] : {std::pair<dtype, std::int64_t>{dtype::float32, 256}, {dtype::float16, 513}}) {
    SCOPED_TRACE(std::string(dtype_name(t)) + " dim " + std::to_string(dim));
    const std::int64_t row_bytes = dim * static_cast<std::int64_t>(dtype_size(t));
    const std::int64_t rows = static_cast<std::int64_t>(tier_bytes) / row_bytes;
    gpu::device_buffer<std::uint8_t> tier(gpu::padded_bytes(tier_bytes));
    const std::int64_t past4 = ((std::int64_t{1} << 32) / row_bytes) + 3;
    const std::vector<std::int64_t> ids{rows - 1, past4, 5, rows - 2, past4, (std::int64_t{1} << 31) / row_bytes};
    std::vector<float> want(ids.size() * static_cast<std::size_t>(dim));
    std::vector<std::uint8_t> row(static_cast<std::size_t>(row_bytes));
    for (std::size_t i = 0; i < ids.size(); ++i) {
      for (std::int64_t j = 0; j < dim; ++j) {
        const float v = static_cast<float>((ids[i] * 7 + j) % 2048) - 1024.f;  // exact in float16 too
        want[i * static_cast<std::size_t>(dim) + static_cast<std::size_t>(j)] = v;
        if (t == dtype::float32)
          std::memcpy(row.data() + j * 4, &v, 4);
        else {
          const std::uint16_t h = float_to_half(v);
          std::memcpy(row.data() + j * 2, &h, 2);
        }
      }
      gpu::copy_async(tier.data() + ids[i] * row_bytes, row.data(), row.size(), s);
      s.synchronize();
    }
    gpu::device_buffer<std::int64_t> d_ids(ids.size());
    gpu::copy_async(d_ids.data(), ids.data(), ids.size() * sizeof(std::int64_t), s);
    gpu::device_buffer<float> out(want.size());
    gpu::device_buffer<unsigned long long> counts(4);
    gpu::memset_async(counts.data(), 0, 4 * sizeof(unsigned long long), s);
    tiered_gather_args a;
    a.ids = d_ids.data();
    a.n = static_cast<std::int64_t>(ids.size());
    a.g = a.c = rows;
    a.gpu_tier = tier.data();
    a.dim = dim;
    a.type = t;
    a.out = out.data();
    a.counts = counts.data();
    tiered_gather_cuda(a, s.handle());
    std::vector<float> got(want.size());
    std::vector<unsigned long long> c(4);
    gpu::copy_async(got.data(), out.data(), got.size() * sizeof(float), s);
    gpu::copy_async(c.data(), counts.data(), 4 * sizeof(unsigned long long), s);
    s.synchronize();
    EXPECT_EQ(want, got);
    EXPECT_EQ(c[0], ids.size());
  }
}
