// The NCCL communicator with one rank (process) per visible GPU, bootstrapped over the TCP
// communicator. Labelled gpu; skips without a device. CUDA is never touched in the test process
// itself (a forked child cannot use a CUDA context of its parent): a probe child counts the devices.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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
  auto boot = make_cpu_communicator(w, 30s);
  auto nccl = make_nccl_communicator(*boot, r, 30s);
  if (nccl->rank() != r || nccl->size() != k || std::string(nccl->kind()) != "nccl") return false;
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
  return true;
}

}  // namespace

TEST(NcclCommunicator, OneRankPerVisibleGpu) {
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
