// The NCCL communicator with one rank (process) per visible GPU, bootstrapped over the TCP
// communicator. Labelled gpu; skips without a device. CUDA is never touched in the test process
// itself (a forked child cannot use a CUDA context of its parent): a probe child counts the devices.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "core/device.hpp"
#include "core/gpu_memory.hpp"
#include "multigpu/communicator.hpp"
#include "test_util.hpp"

using namespace tg;
using namespace std::chrono_literals;

namespace {

bool rank_body(int r, int k, int port) {
  world_info w;
  w.rank = r;
  w.size = k;
  w.master_port = port;
  gpu::set_device(r);  // this rank's buffers and streams live on its GPU
  auto boot = make_cpu_communicator(w, 30s);
  auto nccl = make_nccl_communicator(*boot, r, 30s);
  TG_RANK_CHECK(gpu::current_device() == r);
  TG_RANK_CHECK(nccl->rank() == r && nccl->size() == k && std::string(nccl->kind()) == "nccl");
  gpu::stream s;
  std::vector<float> h(4096);
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<float>(i % 97) * static_cast<float>(r + 1);
  gpu::device_buffer<float> d(h.size());
  gpu::copy_async(d.data(), h.data(), h.size() * sizeof(float), s);
  s.synchronize();
  nccl->all_reduce_sum(d.data(), h.size());
  std::vector<float> back(h.size());
  gpu::copy_async(back.data(), d.data(), back.size() * sizeof(float), s);
  s.synchronize();
  for (std::size_t i = 0; i < h.size(); ++i)
    if (back[i] != static_cast<float>(i % 97) * static_cast<float>(k * (k + 1) / 2)) return false;
  gpu::device_buffer<int> g(static_cast<std::size_t>(k)), one(1);
  const int mine = 100 + r;
  gpu::copy_async(one.data(), &mine, sizeof mine, s);
  s.synchronize();
  nccl->all_gather(one.data(), sizeof(int), g.data());
  std::vector<int> all(static_cast<std::size_t>(k));
  gpu::copy_async(all.data(), g.data(), all.size() * sizeof(int), s);
  s.synchronize();
  for (int q = 0; q < k; ++q)
    if (all[static_cast<std::size_t>(q)] != 100 + q) return false;
  nccl->barrier();

  // Overlapped: two buffers reduced as one group once an event on the producing stream fires,
  // twice in a row (the second call must not trip over the first's in-progress state).
  gpu::device_buffer<float> x(1000), y(3);
  gpu::event ready;
  for (int round = 1; round <= 2; ++round) {
    std::vector<float> hx(1000, static_cast<float>(r + round)), hy{1.f, 2.f, static_cast<float>(r)};
    gpu::copy_async(x.data(), hx.data(), hx.size() * sizeof(float), s);
    gpu::copy_async(y.data(), hy.data(), hy.size() * sizeof(float), s);
    ready.record(s);
    const communicator::buffer bufs[] = {{x.data(), hx.size()}, {y.data(), hy.size()}};
    nccl->all_reduce_sum_async(bufs, 2, ready.handle());
    nccl->wait_all();
    gpu::copy_async(hx.data(), x.data(), hx.size() * sizeof(float), s);
    gpu::copy_async(hy.data(), y.data(), hy.size() * sizeof(float), s);
    s.synchronize();
    const float want_x = static_cast<float>(k * (k - 1) / 2 + k * round);
    for (float v : hx) TG_RANK_CHECK(v == want_x);
    TG_RANK_CHECK(hy[0] == static_cast<float>(k) && hy[1] == static_cast<float>(2 * k) &&
                  hy[2] == static_cast<float>(k * (k - 1) / 2));
  }
  // all_to_all_v on device buffers (the sharded feature store's row exchange): rank r sends
  // (r + 1) * (q + 1) + q ints to rank q, value 1000 r + q + i at position i; its own part too.
  {
    const auto cnt = [](int from, int to) { return static_cast<std::size_t>((from + 1) * (to + 1) + to); };
    std::vector<std::size_t> sb(static_cast<std::size_t>(k)), rb(static_cast<std::size_t>(k));
    std::vector<int> hs, want;
    for (int q = 0; q < k; ++q) {
      sb[static_cast<std::size_t>(q)] = cnt(r, q) * sizeof(int);
      rb[static_cast<std::size_t>(q)] = cnt(q, r) * sizeof(int);
      for (std::size_t i = 0; i < cnt(r, q); ++i) hs.push_back(1000 * r + q + static_cast<int>(i));
      for (std::size_t i = 0; i < cnt(q, r); ++i) want.push_back(1000 * q + r + static_cast<int>(i));
    }
    gpu::device_buffer<int> ds(hs.size()), dr(want.size());
    gpu::copy_async(ds.data(), hs.data(), hs.size() * sizeof(int), s);
    s.synchronize();
    nccl->all_to_all_v(ds.data(), sb.data(), dr.data(), rb.data());
    std::vector<int> got(want.size());
    gpu::copy_async(got.data(), dr.data(), got.size() * sizeof(int), s);
    s.synchronize();
    TG_RANK_CHECK(got == want);
  }
  nccl.reset();  // finalize + destroy must return (bounded) and leave the device usable
  TG_RANK_CHECK(gpu::current_device() == r);
  gpu::device_buffer<float> after(1);
  return true;
}

}  // namespace

TEST(NcclCommunicator, OneRankPerVisibleGpu) {
  if (!nccl_compiled()) GTEST_SKIP() << "built without NCCL (the CUDA backend and nccl.h are needed)";
  const int k = test::cuda_devices_in_child();
  if (k == 0) GTEST_SKIP() << (cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend");
  const int port = test::free_tcp_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < k; ++r) {
    const pid_t p = ::fork();
    if (p == 0) {
      bool ok = false;
      try {
        ok = rank_body(r, k, port);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
      }
      ::_exit(ok ? 0 : 1);
    }
    pids.push_back(p);
  }
  for (int r = 0; r < k; ++r) {
    int s = 0;
    ::waitpid(pids[static_cast<std::size_t>(r)], &s, 0);
    EXPECT_TRUE(WIFEXITED(s) && WEXITSTATUS(s) == 0) << "rank " << r << " of " << k;
  }
}
