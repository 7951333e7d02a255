// The TCP communicator between real processes (fork): collectives give the same bytes on every
// rank; a rank that dies or hangs makes the others throw comm_error within the timeout.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "multigpu/communicator.hpp"
#include "test_util.hpp"

using namespace tg;
using namespace std::chrono_literals;

namespace {

world_info world(int rank, int size, int port) {
  world_info w;
  w.rank = rank;
  w.size = size;
  w.master_port = port;
  return w;
}

}  // namespace

TEST(CpuCommunicator, CollectivesAcrossProcessesGiveIdenticalResults) {
  for (int size : {2, 3}) {
    const int port = test::free_tcp_port();
    const auto status = test::run_in_processes(size, [&](int r) {
      auto c = make_cpu_communicator(world(r, size, port), 10s);
      if (c->rank() != r || c->size() != size) return false;
      // All-reduce: the sum in rank order, bit-identical everywhere.
      std::vector<float> f(1000);
      for (int i = 0; i < 1000; ++i)
        f[static_cast<std::size_t>(i)] = 0.1f * static_cast<float>(i + 1) * static_cast<float>(r + 1);
      c->all_reduce_sum(f.data(), f.size());
      for (int i = 0; i < 1000; ++i) {
        float want = 0;
        for (int q = 0; q < size; ++q) want += 0.1f * static_cast<float>(i + 1) * static_cast<float>(q + 1);
        if (f[static_cast<std::size_t>(i)] != want) return false;
      }
      double d[2] = {1.5, static_cast<double>(r)};
      c->all_reduce_sum(d, 2);
      if (d[0] != 1.5 * size || d[1] != size * (size - 1) / 2.0) return false;
      // Broadcast from the last rank.
      long long v = r == size - 1 ? 4242 : -1;
      c->broadcast(&v, sizeof v, size - 1);
      if (v != 4242) return false;
      // All-gather in rank order.
      const int mine = 10 * r + 7;
      std::vector<int> all(static_cast<std::size_t>(size));
      c->all_gather(&mine, sizeof mine, all.data());
      for (int q = 0; q < size; ++q)
        if (all[static_cast<std::size_t>(q)] != 10 * q + 7) return false;
      c->barrier();
      return true;
    });
    for (int r = 0; r < size; ++r) EXPECT_EQ(status[static_cast<std::size_t>(r)], 0) << "rank " << r << " of " << size;
  }
}

// all_to_all_v: every rank's part for every other arrives intact and in source-rank order (empty
// parts included); a duplicate is a second channel over the same ranks that a second thread can drive
// while the first communicator is busy.
TEST(CpuCommunicator, AllToAllVAndADuplicateOnAnotherThread) {
  for (int size : {2, 3}) {
    const int port = test::free_tcp_port();
    const auto status = test::run_in_processes(size, [&](int r) {
      auto c = make_cpu_communicator(world(r, size, port), 10s);
      // Rank r sends (r + 2 * d) % 3 ints to rank d, with values 1000 r + 10 d + i.
      const auto count = [](int from, int to) { return static_cast<std::size_t>((from + 2 * to) % 3); };
      std::vector<int> send;
      std::vector<std::size_t> sb(static_cast<std::size_t>(size)), rb(static_cast<std::size_t>(size));
      for (int d = 0; d < size; ++d) {
        for (std::size_t i = 0; i < count(r, d); ++i) send.push_back(1000 * r + 10 * d + static_cast<int>(i));
        sb[static_cast<std::size_t>(d)] = count(r, d) * sizeof(int);
        rb[static_cast<std::size_t>(d)] = count(d, r) * sizeof(int);
      }
      std::size_t total = 0;
      for (std::size_t b : rb) total += b / sizeof(int);
      std::vector<int> recv(total, -1);
      c->all_to_all_v(send.data(), sb.data(), recv.data(), rb.data());
      std::size_t at = 0;
      for (int q = 0; q < size; ++q)
        for (std::size_t i = 0; i < count(q, r); ++i)
          if (recv[at++] != 1000 * q + 10 * r + static_cast<int>(i)) return false;
      // The duplicate reduces on another thread while this one all-gathers on the original.
      auto dup = c->duplicate();
      if (dup->rank() != r || dup->size() != size) return false;
      double x = r + 1.0;
      std::thread t([&] {
        for (int k = 0; k < 50; ++k) dup->all_reduce_sum(&x, 1);
      });
      std::vector<int> all(static_cast<std::size_t>(size));
      for (int k = 0; k < 50; ++k) c->all_gather(&r, sizeof r, all.data());
      t.join();
      // After round 1 every rank holds the same value, so x = (sum of r + 1) * size^49.
      double expect = size * (size + 1) / 2.0;
      for (int k = 1; k < 50; ++k) expect *= size;
      return x == expect && all[static_cast<std::size_t>(size - 1)] == size - 1;
    });
    for (int r = 0; r < size; ++r) EXPECT_EQ(status[static_cast<std::size_t>(r)], 0) << "rank " << r << " of " << size;
  }
}

TEST(CpuCommunicator, ADeadRankStopsTheOthers) {
  const int port = test::free_tcp_port();
  const auto t0 = std::chrono::steady_clock::now();
  const auto status = test::run_in_processes(3, [&](int r) {
    auto c = make_cpu_communicator(world(r, 3, port), 20s);
    if (r == 2) ::_exit(9);  // dies after joining, before the first collective
    float x = 1;
    try {
      c->all_reduce_sum(&x, 1);
      c->all_reduce_sum(&x, 1);
    } catch (const comm_error& e) {
      std::fprintf(stderr, "rank %d (expected): %s\n", r, e.what());
      return false;  // exit 1: stopped with an error, as it should
    }
    return true;
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(status[0], 1);
  EXPECT_EQ(status[1], 1);
  EXPECT_EQ(status[2], 9);
  EXPECT_LT(secs, 10.0) << "a closed connection must be noticed at once, not after the 20 s timeout";
}

TEST(CpuCommunicator, AHungRankTimesOut) {
  const int port = test::free_tcp_port();
  const auto t0 = std::chrono::steady_clock::now();
  const auto status = test::run_in_processes(2, [&](int r) {
    auto c = make_cpu_communicator(world(r, 2, port), 500ms);
    if (r == 1) {
      std::this_thread::sleep_for(2s);  // hangs: never joins the collective
      return true;
    }
    float x = 1;
    try {
      c->all_reduce_sum(&x, 1);
    } catch (const comm_error& e) {
      return std::string(e.what()).find("timed out") != std::string::npos ? false : true;
    }
    return true;
  });
  EXPECT_EQ(status[0], 1) << "rank 0 must time out waiting for rank 1";
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 8.0);
}

TEST(CpuCommunicator, NobodyListeningIsAClearError) {
  const int port = test::free_tcp_port();
  try {
    make_cpu_communicator(world(1, 2, port), 300ms);
    FAIL() << "connected to nothing";
  } catch (const comm_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach rank 0"), std::string::npos) << e.what();
  }
}

TEST(WorldFromEnv, ReadsTheUsualVariablesAndRejectsBadOnes) {
  ::unsetenv("OMPI_COMM_WORLD_RANK");
  ::setenv("RANK", "2", 1);
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("LOCAL_RANK", "0", 1);
  ::setenv("MASTER_ADDR", "10.1.2.3", 1);
  ::setenv("MASTER_PORT", "31000", 1);
  world_info w = world_from_env();
  EXPECT_EQ(w.rank, 2);
  EXPECT_EQ(w.size, 4);
  EXPECT_EQ(w.local_rank, 0);
  EXPECT_EQ(w.master_addr, "10.1.2.3");
  EXPECT_EQ(w.master_port, 31000);
  EXPECT_EQ(w.launcher, "env");
  ::setenv("RANK", "4", 1);
  EXPECT_THROW(world_from_env(), input_error);
  ::setenv("RANK", "x", 1);
  EXPECT_THROW(world_from_env(), input_error);
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("LOCAL_RANK");
  ::setenv("OMPI_COMM_WORLD_RANK", "1", 1);
  ::setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
  ::setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1", 1);
  w = world_from_env();
  EXPECT_EQ(w.launcher, "mpi");
  EXPECT_EQ(w.rank, 1);
  EXPECT_EQ(w.size, 3);
  ::unsetenv("OMPI_COMM_WORLD_RANK");
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  ::unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
  ::unsetenv("MASTER_ADDR");
  ::unsetenv("MASTER_PORT");
  w = world_from_env();
  EXPECT_EQ(w.size, 1);
  EXPECT_EQ(w.launcher, "single");
}

// A port scan or a stray client on MASTER_PORT (connect and close, or send junk) must not stop
// rank 0: the job still forms and works.
TEST(CpuCommunicator, StrayConnectionsToTheMasterPortAreIgnored) {
  const int port = test::free_tcp_port();
  const auto status = test::run_in_processes(3, [&](int r) {
    if (r == 2) {  // the stray client, before and while the real rank connects
      for (const char* junk : {"", "GET / HTTP/1.0\r\n\r\n", "\x01\x00\x00\x00\x02\x00\x00\x00"}) {
        for (int tries = 0; tries < 100; ++tries) {
          const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
          sockaddr_in a{};
          a.sin_family = AF_INET;
          a.sin_port = htons(static_cast<std::uint16_t>(port));
          a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
            if (*junk) (void)::send(fd, junk, std::strlen(junk) + 1, 0);
            ::close(fd);
            break;
          }
          ::close(fd);
          std::this_thread::sleep_for(20ms);
        }
      }
      return true;
    }
    if (r == 1) std::this_thread::sleep_for(300ms);  // let the stray client go first
    auto c = make_cpu_communicator(world(r, 2, port), 10s);
    double x = 1;
    c->all_reduce_sum(&x, 1);
    return x == 2;
  });
  for (int r = 0; r < 3; ++r) EXPECT_EQ(status[static_cast<std::size_t>(r)], 0) << "process " << r;
}
