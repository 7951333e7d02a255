// Features sharded across machines on GPUs (multigpu/sharded_store.hpp with the CUDA backend): each
// rank's shard tiered into device memory (GPU tier), pinned host memory and disk, remote rows
// fetched through host memory over TCP (ranks may share one GPU, so the lent one-GPU machines run
// it) or GPU to GPU over NCCL (one rank per GPU: needs two or more). Every row gathered into device
// memory, and into host memory, equals the source dataset's row, and the ledger's local rows split
// into the shard's tiers exactly as its boundaries say. Labelled gpu; skips without a device.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "datasets/generate.hpp"
#include "kernels/backend.hpp"
#include "multigpu/communicator.hpp"
#include "multigpu/sharded_store.hpp"
#include "test_util.hpp"
#include "tiering/plan_file.hpp"
#include "tiering/prepare.hpp"

using namespace tg;
using namespace std::chrono_literals;

namespace {

std::string prepare_shards(const test::scratch_dir& dir, int k) {
  community_options o;
  o.num_nodes = 1500;
  o.avg_degree = 8;
  o.num_classes = 4;
  o.feature_dim = 19;  // odd: rows are not a multiple of 16 bytes
  o.seed = 9;
  const std::string g = generate_community(o, dir / "g", false);
  prepare_config pc;
  pc.fanouts = {4, 4};
  pc.batch_size = 100;
  pc.gpu_mem = "20%";
  pc.host_mem = "30%";
  pc.shards = k;
  pc.replicate = "10%";
  const std::string out = dir / "s";
  prepare_dataset(dataset::open(g), pc, out);
  return out;
}

bool rank_body(int r, int k, int port, int device, bool nccl, const std::string& out, const std::string& source) {
  world_info w;
  w.rank = r;
  w.size = k;
  w.master_port = port;
  auto comm = make_cpu_communicator(w, 60s);
  const dataset sd = dataset::open(out);
  sharded_store::options so;
  so.device = device_kind::cuda;
  so.device_id = device;
  so.nccl_exchange = nccl;
  so.timeout = 60s;
  auto store = open_sharded_store(sd, comm.get(), so);
  TG_RANK_CHECK(store->output_memory() == memory_kind::device);
  const shard_layout& lay = store->layout();
  const std::int64_t local_g = store->g() - lay.begin(r), local_c = store->c() - lay.begin(r);
  TG_RANK_CHECK(local_g > 0 && local_c > local_g && local_c < lay.size(r));  // every tier holds rows
  const dataset src = dataset::open(source);
  const auto* want = static_cast<const float*>(src.get("features.npy").raw());
  const auto ord = sd.get("order.npy").to_int64();
  const std::int64_t dim = sd.meta().feature_dim;
  auto be = make_backend(device_kind::cuda, device);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::int64_t> ids;
    if (!(round == 1 && r == 1))  // rank 1 asks for nothing once, and still serves the others
      for (std::int64_t id = 0; id < sd.num_nodes(); ++id)
        if ((id * 7 + r + round) % 4 == 0) ids.push_back(id);
    const auto n = ids.size() * static_cast<std::size_t>(dim);
    std::vector<float> x(n, -1.0f);
    traffic t;
    if (round == 2) {  // host output (evaluation's path)
      store->gather(span<const std::int64_t>(ids), host_view(x.data(), static_cast<std::int64_t>(n)), &t);
    } else {
      tensor<float> dx(*be, n);
      dx.resize(n);
      store->gather(span<const std::int64_t>(ids), dx.view(), &t);
      dx.copy_to_host(x.data());
    }
    std::int64_t gpu = 0, host = 0, disk = 0, replica = 0, remote = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (std::memcmp(x.data() + i * static_cast<std::size_t>(dim), want + ord[static_cast<std::size_t>(ids[i])] * dim,
                      static_cast<std::size_t>(dim) * sizeof(float)) != 0) {
        std::fprintf(stderr, "rank %d round %d: the row of id %lld differs\n", r, round,
                     static_cast<long long>(ids[i]));
        return false;
      }
      if (lay.owner(ids[i]) == r) {
        const std::int64_t local = ids[i] - lay.begin(r);
        (local < local_g ? gpu : local < local_c ? host : disk) += 1;
      } else if (lay.hot_rank(ids[i]) < lay.replica_rank_bound(r, store->replica_rows())) {
        ++replica;
      } else {
        ++remote;
      }
    }
    TG_RANK_CHECK(t.gpu_rows == gpu && t.host_rows == host && t.disk_rows == disk);
    TG_RANK_CHECK(t.replica_rows == replica && t.remote_rows == remote && (remote > 0) == (t.network_bytes > 0));
    if (round == 0) TG_RANK_CHECK(gpu > 0 && host > 0 && disk > 0 && replica > 0 && remote > 0);
  }
  return true;
}

void run_case(int k, bool nccl) {
  const int devices = test::cuda_devices_in_child();
  if (devices == 0)
    GTEST_SKIP() << (cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend");
  if (nccl && !nccl_compiled()) GTEST_SKIP() << "built without NCCL";
  if (nccl && devices < k) GTEST_SKIP() << "NCCL needs one GPU per rank: " << k << " ranks, " << devices << " GPUs";
  test::scratch_dir dir;
  const std::string out = prepare_shards(dir, k);
  const std::string source = dir / "g";
  const int port = test::free_tcp_port();
  const auto status = test::run_in_processes(k, [&](int r) {
    try {
      return rank_body(r, k, port, nccl ? r : 0, nccl, out, source);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rank %d: %s\n", r, e.what());
      return false;
    }
  });
  for (int r = 0; r < k; ++r) EXPECT_EQ(status[static_cast<std::size_t>(r)], 0) << "rank " << r << " of " << k;
}

}  // namespace

TEST(ShardedStoreGpu, TwoRanksOnOneGpuThroughHostMemory) {
  run_case(2, false);
}
TEST(ShardedStoreGpu, ThreeRanksOnOneGpuThroughHostMemory) {
  run_case(3, false);
}
TEST(ShardedStoreGpu, NcclExchangeOneRankPerGpu) {
  run_case(2, true);
}
