// Features sharded across machines (multigpu/sharded_store.hpp): the round-robin layout, the shard
// files `prepare --shards` writes, and the store's collective gather across real processes (TCP
// communicator): every row equals the source dataset's, and the ledger splits the rows exactly into
// local tiers, replicas and fetched rows.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <vector>

#include "core/dataset.hpp"
#include "datasets/generate.hpp"
#include "multigpu/communicator.hpp"
#include "multigpu/sharded_store.hpp"
#include "shadow_backend.hpp"
#include "test_util.hpp"
#include "tiering/plan_file.hpp"
#include "tiering/prepare.hpp"

using namespace tg;
using namespace std::chrono_literals;

namespace {

std::string make_graph(const test::scratch_dir& d, std::int64_t nodes) {
  community_options o;
  o.num_nodes = nodes;
  o.avg_degree = 8;
  o.num_classes = 4;
  o.feature_dim = 6;
  o.seed = 5;
  return generate_community(o, d / "g", false);
}

// Whether x (ids.size() rows) holds the source row of every id (ord: renumbered -> source id) and the
// ledger t splits the ids exactly into this rank's local rows, replicated rows and fetched rows
// (counted into split[0..2]).
bool rows_and_ledger_match(int r, const sharded_store& store, const std::vector<std::int64_t>& ids,
                           const std::vector<float>& x, const float* want, const std::vector<std::int64_t>& ord,
                           std::int64_t dim, const traffic& t, std::int64_t split[3]) {
  const auto row = static_cast<std::size_t>(dim);
  const shard_layout& lay = store.layout();
  split[0] = split[1] = split[2] = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (std::memcmp(x.data() + i * row, want + ord[static_cast<std::size_t>(ids[i])] * dim, row * sizeof(float)) != 0) {
      std::fprintf(stderr, "rank %d: the row of id %lld differs\n", r, static_cast<long long>(ids[i]));
      return false;
    }
    if (lay.owner(ids[i]) == r)
      ++split[0];
    else if (lay.hot_rank(ids[i]) < lay.replica_rank_bound(r, store.replica_rows()))
      ++split[1];
    else
      ++split[2];
  }
  if (t.gpu_rows + t.host_rows + t.disk_rows != split[0] || t.replica_rows != split[1] || t.remote_rows != split[2] ||
      (split[2] > 0) != (t.network_bytes > 0)) {
    std::fprintf(stderr, "rank %d: ledger %lld/%lld/%lld vs %lld/%lld/%lld\n", r,
                 static_cast<long long>(t.gpu_rows + t.host_rows + t.disk_rows), static_cast<long long>(t.replica_rows),
                 static_cast<long long>(t.remote_rows), static_cast<long long>(split[0]),
                 static_cast<long long>(split[1]), static_cast<long long>(split[2]));
    return false;
  }
  return true;
}

// Rank r of a 2-rank job over TCP on `port`.
std::unique_ptr<communicator> rank_of_two(int r, int port, std::chrono::milliseconds timeout) {
  world_info w;
  w.rank = r;
  w.size = 2;
  w.master_port = port;
  return make_cpu_communicator(w, timeout);
}

}  // namespace

TEST(ShardLayout, RoundRobinRanksContiguousShardsAndReplicaSlots) {
  for (std::int64_t n : {10, 11, 13, 64}) {
    for (int k : {2, 3, 4}) {
      const shard_layout L{n, k};
      std::int64_t covered = 0;
      for (int m = 0; m < k; ++m) {
        EXPECT_EQ(L.begin(m), covered);
        covered += L.size(m);
        EXPECT_LE(L.size(0) - L.size(m), 1);
      }
      EXPECT_EQ(covered, n);
      std::vector<std::int64_t> hot(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) hot[static_cast<std::size_t>(i)] = 100 + i;
      const auto dealt = L.deal(hot);
      for (std::int64_t r = 0; r < n; ++r) {
        const std::int64_t id = L.id_of_rank(r);
        EXPECT_EQ(L.owner(id), r % k) << n << " " << k << " " << r;
        EXPECT_EQ(L.hot_rank(id), r);
        EXPECT_EQ(dealt[static_cast<std::size_t>(id)], 100 + r);
      }
      // Shard m's replicas: the first `rows` remote ranks, in distinct slots [0, rows).
      for (int m = 0; m < k; ++m)
        for (std::int64_t rows : {std::int64_t{0}, std::int64_t{1}, std::int64_t{3}, n}) {
          const std::int64_t bound = L.replica_rank_bound(m, rows);
          const std::int64_t want = std::min(rows, n - L.size(m));
          std::set<std::int64_t> slots;
          for (std::int64_t r = 0; r < bound; ++r)
            if (r % k != m) slots.insert(L.remote_index(m, r));
          EXPECT_EQ(static_cast<std::int64_t>(slots.size()), want) << n << " " << k << " " << m << " " << rows;
          if (!slots.empty()) {
            EXPECT_EQ(*slots.rbegin(), want - 1);
          }
          if (want > 0) {
            EXPECT_NE(static_cast<int>((bound - 1) % k), m) << "the bound ends on a remote rank";
          }
        }
    }
  }
}

// prepare --shards: shard m holds the renumbered rows [begin(m), end(m)) of the source's features in
// the dealt hot order, hot-first within the shard; meta.json lists no feature file and plan.json
// describes every shard. Then K processes each open their shard and gather.
TEST(ShardedStore, ShardsHoldTheSourceRowsAndGathersMatchAcrossProcesses) {
  test::scratch_dir dir;
  const std::string g = make_graph(dir, 900);
  const dataset src = dataset::open(g);
  for (int k : {2, 3}) {
    prepare_config pc;
    pc.fanouts = {4, 4};
    pc.batch_size = 100;
    pc.gpu_mem = "10%";
    pc.host_mem = "20%";
    pc.shards = k;
    pc.replicate = "10%";
    const std::string out = dir / ("s" + std::to_string(k));
    const prepare_report rep = prepare_dataset(src, pc, out);
    ASSERT_EQ(static_cast<int>(rep.shard_plans.size()), k);
    const dataset s = dataset::open(out);
    EXPECT_EQ(s.meta().feature_shards, k);
    EXPECT_FALSE(s.has("features.npy"));
    const plan_file pf = plan_file::load(s);
    ASSERT_EQ(static_cast<int>(pf.shards.size()), k);
    const auto order = s.get("order.npy").to_int64();
    const auto* f = static_cast<const float*>(src.get("features.npy").raw());
    const std::int64_t dim = src.meta().feature_dim;
    const shard_layout L{s.num_nodes(), k};
    for (int m = 0; m < k; ++m) {
      const npy_array a = npy_array::open(out + "/" + pf.shards[static_cast<std::size_t>(m)].file);
      ASSERT_EQ(a.shape(), (std::vector<std::int64_t>{L.size(m), dim}));
      const auto* rows = static_cast<const float*>(a.raw());
      for (std::int64_t j = 0; j < L.size(m); ++j)
        ASSERT_EQ(std::memcmp(rows + j * dim, f + order[static_cast<std::size_t>(L.begin(m) + j)] * dim,
                              static_cast<std::size_t>(dim) * sizeof(float)),
                  0)
            << "shard " << m << " row " << j;
      EXPECT_EQ(pf.shards[static_cast<std::size_t>(m)].gpu_rows, L.size(m) / 10);
    }
    // K ranks gather overlapping id sets (each sees local, replicated and remote rows); rank 1's
    // second gather is empty and it still serves the others.
    const int port = test::free_tcp_port();
    const auto status = test::run_in_processes(k, [&](int r) {
      world_info w;
      w.rank = r;
      w.size = k;
      w.master_port = port;
      auto comm = make_cpu_communicator(w, 20s);
      const dataset sd = dataset::open(out);
      auto store = open_sharded_store(sd, comm.get(), sharded_store::options{});
      const dataset source = dataset::open(g);
      const auto* want = static_cast<const float*>(source.get("features.npy").raw());
      const auto ord = sd.get("order.npy").to_int64();
      for (int round = 0; round < 2; ++round) {
        std::vector<std::int64_t> ids;
        if (!(round == 1 && r == 1))
          for (std::int64_t id = 0; id < sd.num_nodes(); ++id)
            if ((id * 7 + r + round) % 5 == 0) ids.push_back(id);
        std::vector<float> x(ids.size() * static_cast<std::size_t>(dim), -1.0f);
        traffic t;
        store->gather(span<const std::int64_t>(ids), host_view(x.data(), static_cast<std::int64_t>(x.size())), &t);
        std::int64_t split[3];
        if (!rows_and_ledger_match(r, *store, ids, x, want, ord, dim, t, split)) return false;
        if (round == 0 && (split[1] == 0 || split[2] == 0)) return false;  // the test must exercise both paths
      }
      // The replicas stay within the plan's budget (float32 rows).
      return store->replica_rows() * dim * 4 <= static_cast<std::int64_t>(plan_file::load(sd).replicate_bytes);
    });
    for (int r = 0; r < k; ++r) EXPECT_EQ(status[static_cast<std::size_t>(r)], 0) << "rank " << r << " of " << k;
  }
}

// The device-memory code path (a GPU rank without NCCL: served rows pulled to host memory, fetched
// rows and replicas pushed to the backend, every row placed by backend::scatter_rows) run on the
// CPU through the shadow-device backend, whose memory is tagged `device`: rows into "device"
// memory and into host memory (evaluation's path) equal the source rows, and the ledger is exact.
TEST(ShardedStore, DeviceMemoryPathOnTheShadowBackend) {
  test::scratch_dir dir;
  const std::string g = make_graph(dir, 700);
  prepare_config pc;
  pc.fanouts = {4, 4};
  pc.batch_size = 100;
  pc.gpu_mem = "10%";
  pc.host_mem = "20%";
  pc.shards = 2;
  pc.replicate = "15%";
  const std::string out = dir / "s2";
  prepare_dataset(dataset::open(g), pc, out);
  // The shard's store: the CPU tiered store, its output tagged as the shadow backend's memory.
  class shadow_store final : public feature_store {
   public:
    explicit shadow_store(std::unique_ptr<tiered_store> s) : s_(std::move(s)) {}
    std::int64_t num_rows() const override { return s_->num_rows(); }
    std::int64_t dim() const override { return s_->dim(); }
    std::int64_t row_bytes() const override { return s_->row_bytes(); }
    std::int64_t g() const override { return s_->g(); }
    std::int64_t c() const override { return s_->c(); }
    memory_kind output_memory() const override { return memory_kind::device; }
    std::string host_tier_mode() const override { return s_->host_tier_mode(); }
    void gather(span<const std::int64_t> ids, tensor_view<float> o, traffic* counts) override {
      if (o.kind != memory_kind::device) throw error("the shadow store writes shadow-device memory only");
      s_->gather(ids, o.data, counts);
    }

   private:
    std::unique_ptr<tiered_store> s_;
  };
  const int port = test::free_tcp_port();
  const auto status = test::run_in_processes(2, [&](int r) {
    auto comm = rank_of_two(r, port, 20s);
    test::shadow_device_backend be;
    sharded_store::options so;
    so.backend_override = &be;
    // Exchanges of at most 7 rows: the replica fetch and the gather into host memory run in rounds
    // (as many on every rank, though the ranks ask for different numbers of rows).
    so.max_stage_rows = 7;
    so.store_override = [](const feature_file& f, std::int64_t tg_, std::int64_t tc) -> std::unique_ptr<feature_store> {
      return std::make_unique<shadow_store>(std::make_unique<tiered_store>(f, tg_, tc));
    };
    const dataset sd = dataset::open(out);
    auto store = open_sharded_store(sd, comm.get(), so);
    if (store->output_memory() != memory_kind::device) return false;
    const dataset source = dataset::open(g);
    const auto* want = static_cast<const float*>(source.get("features.npy").raw());
    const auto ord = sd.get("order.npy").to_int64();
    const std::int64_t dim = sd.meta().feature_dim;
    for (int round = 0; round < 2; ++round) {
      std::vector<std::int64_t> ids;
      for (std::int64_t id = sd.num_nodes() - 1; id >= 0; --id)  // descending: positions differ from ids
        if ((id * 3 + r + round) % 4 == 0) ids.push_back(id);
      if (round == 1 && r == 1) {  // a third of them: fewer rounds of its own than rank 0's
        std::vector<std::int64_t> few;
        for (std::size_t i = 0; i < ids.size(); i += 3) few.push_back(ids[i]);
        ids.swap(few);
      }
      const auto n = ids.size() * static_cast<std::size_t>(dim);
      std::vector<float> x(n, -1.0f);
      traffic t;
      if (round == 0) {
        tensor<float> dx(be, n);
        dx.resize(n);
        store->gather(span<const std::int64_t>(ids), dx.view(), &t);
        dx.copy_to_host(x.data());
      } else {
        store->gather(span<const std::int64_t>(ids), host_view(x.data(), static_cast<std::int64_t>(n)), &t);
      }
      std::int64_t split[3];
      if (!rows_and_ledger_match(r, *store, ids, x, want, ord, dim, t, split) || split[0] == 0 || split[1] == 0 ||
          split[2] == 0)
        return false;
    }
    // A view of the wrong memory kind is refused before any work (and both ranks refuse it alike,
    // so neither waits in an exchange).
    std::vector<float> y(static_cast<std::size_t>(dim));
    const std::int64_t one = 0;
    try {
      store->gather(span<const std::int64_t>(&one, 1), tensor_view<float>{y.data(), dim, memory_kind::disk}, nullptr);
      return false;
    } catch (const error&) {
    }
    return true;
  });
  for (int r = 0; r < 2; ++r) EXPECT_EQ(status[static_cast<std::size_t>(r)], 0) << "rank " << r;
}

// A shard that fails to load on one rank (its GPU's free memory, its disk) stops every rank at once,
// each with a message: the failing rank its own error, the others one naming it, long before the
// communicator's timeout.
TEST(ShardedStore, AShardThatFailsToLoadStopsEveryRank) {
  test::scratch_dir dir;
  const std::string g = make_graph(dir, 300);
  prepare_config pc;
  pc.fanouts = {4, 4};
  pc.batch_size = 100;
  pc.shards = 2;
  pc.replicate = "10%";
  const std::string out = dir / "s2";
  prepare_dataset(dataset::open(g), pc, out);
  const int port = test::free_tcp_port();
  const auto status = test::run_in_processes(2, [&](int r) {
    auto comm = rank_of_two(r, port, 60s);
    sharded_store::options so;
    so.store_override = [r](const feature_file& f, std::int64_t tg_,
                            std::int64_t tc) -> std::unique_ptr<feature_store> {
      if (r == 1) throw budget_error("the shard does not fit here");
      return std::make_unique<tiered_store>(f, tg_, tc);
    };
    const dataset sd = dataset::open(out);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      open_sharded_store(sd, comm.get(), so);
      return false;
    } catch (const budget_error& e) {
      if (r != 1) return false;
    } catch (const comm_error& e) {
      if (r != 0 || std::string(e.what()).find("rank 1 could not load its feature shard") == std::string::npos) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
        return false;
      }
    }
    return std::chrono::steady_clock::now() - t0 < 20s;
  });
  for (int r = 0; r < 2; ++r) EXPECT_EQ(status[static_cast<std::size_t>(r)], 0) << "rank " << r;
}
