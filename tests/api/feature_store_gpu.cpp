// The embedding API's CUDA feature store (include/tiergnn/feature_store.hpp) as a framework uses
// it: FeatureStore("cuda:N") gathering into a device pointer the caller owns and into memory the
// store allocates, rows equal to the CPU store's, the caller's current device left alone (PyTorch
// keeps its own there). Skips without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/gpu_memory.hpp"
#include "test_util.hpp"
#include "tiergnn/tiergnn.hpp"

namespace {

std::string write_rows(const tg::test::scratch_dir& d, std::int64_t n, std::int64_t dim) {
  tg::dataset_writer w(d / "f");
  w.put("indptr.npy", std::vector<std::int64_t>(static_cast<std::size_t>(n) + 1, 0));
  w.put("indices.npy", std::vector<std::int32_t>{});
  std::vector<float> f(static_cast<std::size_t>(n * dim));
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(i % 997) * 0.25f;
  w.put("features.npy", tg::dtype::float32, {n, dim}, f.data());
  auto& m = w.meta();
  m.name = "rows";
  m.num_nodes = n;
  m.feature_dim = dim;
  return w.commit();
}

}  // namespace

TEST(ApiCudaFeatureStore, GathersIntoACallersDevicePointer) {
  if (tg::cuda_device_count() == 0)
    GTEST_SKIP() << (tg::cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend");
  tg::test::scratch_dir d;
  const std::int64_t n = 2000, dim = 10;
  const tiergnn::dataset ds = tiergnn::dataset::open(write_rows(d, n, dim));
  const int last = tg::cuda_device_count() - 1;
  tiergnn::store_options o;
  o.device = "cuda:" + std::to_string(last);
  o.g = 300;
  o.c = 1200;
  tg::gpu::set_device(0);
  const tiergnn::feature_store gpu(ds, o);
  EXPECT_EQ(0, tg::gpu::current_device()) << "constructing the store moved the caller's current device";
  EXPECT_EQ(gpu.device_id(), last);
  tiergnn::store_options oc;
  oc.g = 300;
  oc.c = 1200;
  const tiergnn::feature_store cpu(ds, oc);
  std::mt19937_64 rng(3);
  std::vector<std::int64_t> ids(777);
  for (auto& x : ids) x = static_cast<std::int64_t>(rng() % n);
  std::vector<float> want(ids.size() * dim), got(want.size());
  cpu.gather(ids.data(), ids.size(), want.data());
  {
    const tg::gpu::device_scope on(last);
    tg::gpu::device_buffer<float> out(want.size());
    tg::gpu::device_scope back(0);  // gather from a thread whose current device is another one
    gpu.gather(ids.data(), ids.size(), out.data());
    EXPECT_EQ(0, tg::gpu::current_device());
    tg::gpu::stream s;
    tg::gpu::copy_async(got.data(), out.data(), got.size() * sizeof(float), s);
    s.synchronize();
  }
  EXPECT_EQ(want, got);
  const tiergnn::gathered_rows r = gpu.gather(ids.data(), ids.size());
  EXPECT_EQ(r.device_id, last);
  EXPECT_EQ(r.rows, static_cast<std::int64_t>(ids.size()));
  EXPECT_EQ(0, tg::gpu::current_device());
  std::vector<float> got2(want.size());
  {
    tg::gpu::stream s;
    tg::gpu::copy_async(got2.data(), r.data, got2.size() * sizeof(float), s);
    s.synchronize();
  }
  EXPECT_EQ(want, got2);
  const tiergnn::traffic t = gpu.traffic();
  EXPECT_EQ(t.batches, 2);
  EXPECT_EQ(t.gpu_rows + t.host_rows + t.disk_rows, 2 * static_cast<std::int64_t>(ids.size()));
}
