// MPI communicator (multigpu/communicator.hpp): the collectives of the MPI library the job was
// started with (`mpirun -np K tiergnn ...`): MPI_Allreduce, MPI_Bcast, MPI_Allgather and
// MPI_Barrier on a duplicate of MPI_COMM_WORLD, so MPI picks its own algorithms (recursive doubling,
// ring, ...) instead of the TCP star's k x traffic through rank 0.
//
// Results: MPI's sum order is its own, not rank order, so K ranks reach the one-process model within
// float rounding (as with NCCL), and the trainer's per-epoch parameter checksum across ranks stays
// the guard that every rank holds the same bits. A rank that dies ends the job through mpirun, which
// names the rank; MPI errors raised on this side become comm_error.
//
// A rank that hangs (a stopped process, a wedged node) ends the job after --comm-timeout, as under
// the TCP communicator: a watchdog thread per communicator sees how long the collective in progress
// has run, and past the deadline reports the error as the CLI would and ends the process without
// MPI_Finalize (MPI_Abort where the library takes calls from a second thread, else _exit), so mpirun
// ends every rank. Blocking calls had left the others spinning in MPI_Allreduce at 100% CPU for ever.
// The collectives stay blocking: their non-blocking twins (MPI_Iallreduce tested against a deadline)
// ran at half the speed here (Open MPI's libnbc algorithms, progressed only by polling: 1 MiB 0.13 ->
// 0.27 ms, 16 MiB 6 -> 14 ms between two ranks).
//
// MPI is initialised on first use (MPI_THREAD_MULTIPLE when available, else SERIALIZED: one thread
// calls at a time) unless the embedding program did so, and finalised at process exit when tiergnn initialised it.
// The C API only: no C++ bindings (deprecated, and a separate library to link).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "multigpu/communicator.hpp"

namespace tg {

namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw comm_error(std::string("MPI ") + what + " failed: " + std::string(text, static_cast<std::size_t>(len)));
}

// MPI_Init_thread once per process; MPI_Finalize at exit if this process's tiergnn initialised it.
struct mpi_runtime {
  bool owned = false;
  mpi_runtime() {
    int ready = 0;
    MPI_Initialized(&ready);
    if (ready) {
      MPI_Query_thread(&provided);
      return;
    }
    // MULTIPLE when the library has it (two threads, each on its own communicator: the sharded
    // store's exchange beside the gradient all-reduce); SERIALIZED is the least tiergnn needs.
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "initialisation");
    if (provided < MPI_THREAD_SERIALIZED)
      throw comm_error("the MPI library provides thread level " + std::to_string(provided) +
                       "; tiergnn needs MPI_THREAD_SERIALIZED");
    owned = true;
  }
  int provided = MPI_THREAD_SINGLE;
  ~mpi_runtime() {
    int done = 0;
    MPI_Finalized(&done);
    if (owned && !done) MPI_Finalize();
  }
};

mpi_runtime& runtime() {
  static mpi_runtime r;
  return r;
}

constexpr std::size_t kChunk = std::size_t{1} << 30;  // elements per MPI call (counts are int)

// Watches one communicator's blocking collectives (see the top of this file). Arming and disarming
// are two atomic stores; the thread looks every quarter of the timeout (at most 100 ms).
class collective_watchdog {
 public:
  collective_watchdog(std::chrono::milliseconds timeout, int rank, int size)
      : timeout_(timeout), rank_(rank), size_(size) {
    if (timeout_.count() > 0) thread_ = std::thread([this] { run(); });
  }
  ~collective_watchdog() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  collective_watchdog(const collective_watchdog&) = delete;
  collective_watchdog& operator=(const collective_watchdog&) = delete;

  // While a scope lives, the collective `what` is in progress.
  class scope {
   public:
    scope(collective_watchdog& w, const char* what) : w_(w) {
      w_.what_.store(what, std::memory_order_relaxed);
      w_.started_ns_.store(now_ns(), std::memory_order_release);
    }
    ~scope() { w_.started_ns_.store(0, std::memory_order_release); }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

   private:
    collective_watchdog& w_;
  };

 private:
  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void run() {
    const auto step = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(100),
        std::max<std::chrono::milliseconds>(timeout_ / 4, std::chrono::milliseconds(1)));
    const std::int64_t limit = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout_).count();
    while (!stop_.load()) {
      std::this_thread::sleep_for(step);
      const std::int64_t started = started_ns_.load(std::memory_order_acquire);
      if (started == 0 || now_ns() - started < limit) continue;
      const std::string msg = "tiergnn: error: rank " + std::to_string(rank_) + ": timed out after " +
                              std::to_string(timeout_.count()) + " ms in " + what_.load() +
                              " of the MPI job (world of " + std::to_string(size_) +
                              "): a rank is hung or far slower than the others (--comm-timeout); ending the job\n";
      (void)!::write(2, msg.data(), msg.size());
      if (runtime().provided >= MPI_THREAD_MULTIPLE) MPI_Abort(MPI_COMM_WORLD, 1);
      ::_exit(1);
    }
  }
  std::chrono::milliseconds timeout_;
  int rank_, size_;
  std::atomic<std::int64_t> started_ns_{0};
  std::atomic<const char*> what_{""};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class mpi_communicator final : public communicator {
 public:
  explicit mpi_communicator(std::chrono::milliseconds timeout, MPI_Comm from = MPI_COMM_WORLD) : timeout_(timeout) {
    runtime();
    check(MPI_Comm_dup(from, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    watchdog_ = std::make_unique<collective_watchdog>(timeout_, rank_, size_);
  }
  ~mpi_communicator() override {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Comm_free(&comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* kind() const override { return "mpi"; }

  void all_reduce_sum(float* data, std::size_t n) override { reduce(data, n, MPI_FLOAT); }
  void all_reduce_sum(double* data, std::size_t n) override { reduce(data, n, MPI_DOUBLE); }
  void broadcast(void* data, std::size_t bytes, int root) override {
    const collective_watchdog::scope watched(*watchdog_, "a broadcast");
    auto* p = static_cast<char*>(data);
    for (std::size_t off = 0; off < bytes; off += kChunk)
      check(MPI_Bcast(p + off, static_cast<int>(std::min(kChunk, bytes - off)), MPI_BYTE, root, comm_), "MPI_Bcast");
  }
  void all_gather(const void* send, std::size_t bytes, void* recv) override {
    if (bytes > static_cast<std::size_t>(INT_MAX))
      throw comm_error("all_gather of " + std::to_string(bytes) + " bytes per rank is beyond MPI's int counts");
    const collective_watchdog::scope watched(*watchdog_, "an all-gather");
    check(MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes), MPI_BYTE, comm_),
          "MPI_Allgather");
  }
  void barrier() override {
    const collective_watchdog::scope watched(*watchdog_, "a barrier");
    check(MPI_Barrier(comm_), "MPI_Barrier");
  }

  void all_to_all_v(const void* send, const std::size_t* send_bytes, void* recv,
                    const std::size_t* recv_bytes) override {
    const auto k = static_cast<std::size_t>(size_);
    std::vector<int> sc(k), sd(k), rc(k), rd(k);
    std::size_t so = 0, ro = 0;
    for (std::size_t r = 0; r < k; ++r) {
      if (send_bytes[r] > static_cast<std::size_t>(INT_MAX) || recv_bytes[r] > static_cast<std::size_t>(INT_MAX) ||
          so > static_cast<std::size_t>(INT_MAX) || ro > static_cast<std::size_t>(INT_MAX))
        throw comm_error("all_to_all_v: more than 2 GiB per exchange is beyond MPI's int counts");
      sc[r] = static_cast<int>(send_bytes[r]);
      sd[r] = static_cast<int>(so);
      rc[r] = static_cast<int>(recv_bytes[r]);
      rd[r] = static_cast<int>(ro);
      so += send_bytes[r];
      ro += recv_bytes[r];
    }
    const collective_watchdog::scope watched(*watchdog_, "an exchange of rows");
    check(MPI_Alltoallv(send, sc.data(), sd.data(), MPI_BYTE, recv, rc.data(), rd.data(), MPI_BYTE, comm_),
          "MPI_Alltoallv");
  }

  // MPI_Comm_dup: a communication context of its own over the same ranks.
  std::unique_ptr<communicator> duplicate() override { return std::make_unique<mpi_communicator>(timeout_, comm_); }
  bool concurrent_ok() const override { return runtime().provided >= MPI_THREAD_MULTIPLE; }

 private:
  template <typename T>
  void reduce(T* data, std::size_t n, MPI_Datatype type) {
    const collective_watchdog::scope watched(*watchdog_, "an all-reduce");
    for (std::size_t off = 0; off < n; off += kChunk)
      check(MPI_Allreduce(MPI_IN_PLACE, data + off, static_cast<int>(std::min(kChunk, n - off)), type, MPI_SUM, comm_),
            "MPI_Allreduce");
  }
  std::chrono::milliseconds timeout_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::unique_ptr<collective_watchdog> watchdog_;
};

}  // namespace

bool mpi_compiled() {
  return true;
}

void end_mpi_job_after_error() {
  int ready = 0, done = 0;
  MPI_Initialized(&ready);
  MPI_Finalized(&done);
  if (!ready || done) return;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
}

std::unique_ptr<communicator> make_mpi_communicator(std::chrono::milliseconds timeout) {
  return std::make_unique<mpi_communicator>(timeout);
}

}  // namespace tg
