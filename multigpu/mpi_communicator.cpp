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
// MPI is initialised on first use (MPI_THREAD_MULTIPLE when available, else SERIALIZED: one thread
// calls at a time) unless the embedding program did so, and finalised at process exit when tiergnn initialised it.
// The C API only: no C++ bindings (deprecated, and a separate library to link).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
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

class mpi_communicator final : public communicator {
 public:
  explicit mpi_communicator(MPI_Comm from = MPI_COMM_WORLD) {
    runtime();
    check(MPI_Comm_dup(from, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
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
    auto* p = static_cast<char*>(data);
    for (std::size_t off = 0; off < bytes; off += kChunk)
      check(MPI_Bcast(p + off, static_cast<int>(std::min(kChunk, bytes - off)), MPI_BYTE, root, comm_), "MPI_Bcast");
  }
  void all_gather(const void* send, std::size_t bytes, void* recv) override {
    if (bytes > static_cast<std::size_t>(INT_MAX))
      throw comm_error("all_gather of " + std::to_string(bytes) + " bytes per rank is beyond MPI's int counts");
    check(MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes), MPI_BYTE, comm_),
          "MPI_Allgather");
  }
  void barrier() override { check(MPI_Barrier(comm_), "MPI_Barrier"); }

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
    check(MPI_Alltoallv(send, sc.data(), sd.data(), MPI_BYTE, recv, rc.data(), rd.data(), MPI_BYTE, comm_),
          "MPI_Alltoallv");
  }

  // MPI_Comm_dup: a communication context of its own over the same ranks.
  std::unique_ptr<communicator> duplicate() override { return std::make_unique<mpi_communicator>(comm_); }
  bool concurrent_ok() const override { return runtime().provided >= MPI_THREAD_MULTIPLE; }

 private:
  template <typename T>
  void reduce(T* data, std::size_t n, MPI_Datatype type) {
    for (std::size_t off = 0; off < n; off += kChunk)
      check(MPI_Allreduce(MPI_IN_PLACE, data + off, static_cast<int>(std::min(kChunk, n - off)), type, MPI_SUM, comm_),
            "MPI_Allreduce");
  }
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool mpi_compiled() {
  return true;
}

std::unique_ptr<communicator> make_mpi_communicator() {
  return std::make_unique<mpi_communicator>();
}

}  // namespace tg
