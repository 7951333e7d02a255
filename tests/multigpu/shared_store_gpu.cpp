// The shared hot tier on GPUs: two processes (ranks) each load the replicated band and their own
// stripe, open the other's stripe over CUDA IPC and gather rows from every band; rows equal the CPU
// store's and the local/peer/host counts equal the planner's classification. Both ranks may share
// one GPU (IPC between processes works on one device), so the lent one-GPU machines run it too.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "multigpu/communicator.hpp"
#include "tiering/shared_tier.hpp"
#include "test_util.hpp"
#include "tiering/cuda_feature_store.hpp"
#include "tiering/feature_store.hpp"

using namespace tg;
using namespace std::chrono_literals;

namespace {

std::string write_rows(const test::scratch_dir& d, std::int64_t n, std::int64_t dim) {
  dataset_writer w(d / "f");
  w.put("indptr.npy", std::vector<std::int64_t>(static_cast<std::size_t>(n) + 1, 0));
  w.put("indices.npy", std::vector<std::int32_t>{});
  std::vector<float> f(static_cast<std::size_t>(n * dim));
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(i % 1009) * 0.5f;
  w.put("features.npy", dtype::float32, {n, dim}, f.data());
  auto& m = w.meta();
  m.name = "rows";
  m.num_nodes = n;
  m.feature_dim = dim;
  return w.commit();
}

struct band_case {
  int k;
  std::int64_t replicated, striped;
};

// k ranks (processes) share the GPUs there are (several ranks per GPU when there are fewer), each
// loading the replicated band and its stripe and reading the others' stripes over CUDA IPC.
void expect_ranks_read_each_others_stripes(const band_case& bc) {
  const int devices = test::cuda_devices_in_child();
  if (devices == 0)
    GTEST_SKIP() << (cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend");
  test::scratch_dir d;
  const std::int64_t n = 5000, dim = 24;
  const std::int64_t g = bc.replicated + bc.striped, c = std::min<std::int64_t>(n, g + 2000);
  const std::string path = write_rows(d, n, dim);
  shared_tier_config sc;
  sc.num_nodes = n;
  sc.row_bytes = dim * 4;
  sc.num_gpus = bc.k;
  sc.gpu_budget_bytes = static_cast<std::uint64_t>(bc.replicated + (bc.striped + bc.k - 1) / bc.k) *
                        static_cast<std::uint64_t>(sc.row_bytes);
  sc.peer_to_peer = true;
  const shared_tier_plan plan(sc, bc.replicated, bc.striped);
  ASSERT_EQ(plan.striped_end(), g);
  const int port = test::free_tcp_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < bc.k; ++r) {
    const pid_t p = ::fork();
    if (p == 0) {
      bool ok = false;
      try {
        world_info w;
        w.rank = r;
        w.size = bc.k;
        w.master_port = port;
        auto comm = make_cpu_communicator(w, 30s);
        const dataset ds = dataset::open(path);
        cuda_tiered_store::options o;
        o.device = r % devices;
        o.shared.replicated = bc.replicated;
        o.shared.k = bc.k;
        o.shared.rank = r;
        o.shared.all_gather = [&](const void* s, std::size_t b, void* out) { comm->all_gather(s, b, out); };
        cuda_tiered_store gpu(ds, g, c, o);
        const tiered_store cpu(ds, g, c, 2);
        std::mt19937_64 rng(static_cast<std::uint64_t>(r) + 5);
        std::vector<std::int64_t> ids(3000);
        for (auto& x : ids) x = static_cast<std::int64_t>(rng() % n);
        for (std::int64_t v = 0; v < std::min<std::int64_t>(g, 64); ++v) ids.push_back(g - 1 - v);  // the band's end
        std::vector<float> a(ids.size() * dim), b(a.size());
        cpu.gather(ids, a.data());
        traffic t;
        gpu.gather_to_host(ids, b.data(), &t);
        const traffic want = plan.count(ids, r);
        ok = std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0 && t.gpu_rows == want.gpu_rows &&
             t.peer_rows == want.peer_rows && t.host_rows + t.disk_rows == want.host_rows + want.disk_rows;
        if (!ok)
          std::fprintf(stderr, "rank %d: rows %s; local %lld/%lld peer %lld/%lld\n", r,
                       std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0 ? "equal" : "differ",
                       static_cast<long long>(t.gpu_rows), static_cast<long long>(want.gpu_rows),
                       static_cast<long long>(t.peer_rows), static_cast<long long>(want.peer_rows));
        comm->barrier();  // no rank frees its stripe while another still reads it
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
      }
      ::_exit(ok ? 0 : 1);
    }
    pids.push_back(p);
  }
  for (int r = 0; r < bc.k; ++r) {
    int s = 0;
    ::waitpid(pids[static_cast<std::size_t>(r)], &s, 0);
    EXPECT_TRUE(WIFEXITED(s) && WEXITSTATUS(s) == 0) << "rank " << r << " of " << bc.k;
  }
}

}  // namespace

TEST(SharedGpuTier, TwoRanksReadEachOthersStripes) {
  expect_ranks_read_each_others_stripes({2, 500, 1000});
}

TEST(SharedGpuTier, NothingReplicatedThreeRanks) {
  expect_ranks_read_each_others_stripes({3, 0, 1501});
}

TEST(SharedGpuTier, NothingStripedThreeRanks) {
  expect_ranks_read_each_others_stripes({3, 1500, 0});
}

TEST(SharedGpuTier, UnevenStripesFourRanks) {
  expect_ranks_read_each_others_stripes({4, 203, 1001});
}
