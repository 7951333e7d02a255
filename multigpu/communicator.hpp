#pragma once
// Collective communication between the ranks of a data-parallel job (DESIGN.md §8): one process per
// GPU (or per CPU worker), started by `tiergnn launch -n K -- ...`, by `mpirun -np K tiergnn ...`, or
// by any launcher that sets the usual environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT).
//
// Three implementations of one interface:
//   mpi   the MPI library's collectives (multigpu/mpi_communicator.cpp), for CPU processes started by
//         mpirun (on one machine or several); the default there when tiergnn is built with MPI.
//   cpu   TCP sockets in a star around rank 0 (multigpu/cpu_communicator.cpp). Reductions sum in rank
//         order on rank 0 and send the same bytes to everyone, so every rank gets bit-identical
//         results. It also serves as the bootstrap channel of the NCCL communicator (the NCCL unique
//         id travels over it). Every wait has a deadline: a rank that dies (its socket closes) or
//         hangs (nothing arrives before the timeout) makes the others throw comm_error naming it.
//   nccl  NCCL on device buffers (multigpu/cuda/nccl_communicator.cu), with non-blocking
//         communicators polled against the same timeout and aborted on error.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.hpp"

namespace tg {

// A peer failed or a collective timed out; the job cannot continue.
class comm_error : public error {
 public:
  using error::error;
};

struct world_info {
  int rank = 0, size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher = "single";  // "single", "env" or "mpi"
};

// From RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT, else Open MPI's
// OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK (with MASTER_ADDR / MASTER_PORT or their defaults),
// else a single process. Throws input_error for malformed or inconsistent values.
world_info world_from_env();

class communicator {
 public:
  virtual ~communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const char* kind() const = 0;  // "cpu" (TCP), "mpi" or "nccl"

  // In place: data = sum over ranks (host memory for cpu, device memory for nccl).
  virtual void all_reduce_sum(float* data, std::size_t n) = 0;
  virtual void all_reduce_sum(double* data, std::size_t n) = 0;
  // data (bytes) from `root` to every rank.
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  // recv (size() * bytes) = every rank's `bytes` of send, in rank order.
  virtual void all_gather(const void* send, std::size_t bytes, void* recv) = 0;
  virtual void barrier() = 0;

  // Personalised exchange (host memory for cpu and mpi, device memory for nccl): this rank sends
  // send_bytes[r] bytes to rank r, taken back to back from `send` in rank order, and receives
  // recv_bytes[r] bytes from rank r into `recv`, back to back in rank order (its own part included:
  // copied). recv_bytes[r] must equal what rank r sends here; callers exchange the counts first
  // (all_gather). The sharded feature store's one exchange per batch (multigpu/sharded_store.hpp);
  // NCCL runs it as one group of point-to-point sends and receives.
  virtual void all_to_all_v(const void* send, const std::size_t* send_bytes, void* recv, const std::size_t* recv_bytes);

  // A second communicator over the same ranks, with a channel of its own, so that two threads can
  // each drive one (the sharded store's exchange on the batch producer thread beside the gradient
  // all-reduce on the training thread). Collective: every rank calls it. concurrent_ok() says
  // whether the two may really run at the same time (MPI needs MPI_THREAD_MULTIPLE for that).
  virtual std::unique_ptr<communicator> duplicate();
  virtual bool concurrent_ok() const { return true; }

  // Overlap with computation: starts data += sum over ranks once `ready_event` (a cudaEvent_t
  // recorded on the producing stream; null: now) has completed, and returns at once; wait_all()
  // blocks until every started reduction is done. The CPU communicator has no streams: it reduces
  // at once (after the producer's work, which the caller has finished).
  struct buffer {
    float* data = nullptr;
    std::size_t n = 0;
  };
  // Several buffers at once (a layer's gradients): NCCL launches them as one group.
  virtual void all_reduce_sum_async(const buffer* buffers, std::size_t count, void* ready_event) {
    (void)ready_event;
    for (std::size_t i = 0; i < count; ++i) all_reduce_sum(buffers[i].data, buffers[i].n);
  }
  void all_reduce_sum_async(float* data, std::size_t n, void* ready_event) {
    const buffer b{data, n};
    all_reduce_sum_async(&b, 1, ready_event);
  }
  virtual void wait_all() {}
};

// The TCP communicator. Rank 0 listens on master_addr:master_port; the others connect (retrying
// until `timeout`). Single-process worlds need no sockets.
std::unique_ptr<communicator> make_cpu_communicator(const world_info& w, std::chrono::milliseconds timeout);

// Whether this build has the MPI communicator (MPI found at configure time), and the communicator
// over MPI_COMM_WORLD (MPI initialised on first use), whose collectives end the job after `timeout`
// (0: never). Throws comm_error without MPI.
bool mpi_compiled();
std::unique_ptr<communicator> make_mpi_communicator(std::chrono::milliseconds timeout);
// A rank of an MPI job that ends with an error while the others may wait in a collective (a --resume
// refusal, a bad file on one machine): MPI_Abort, so mpirun ends the job now. MPI_Finalize would
// wait for them, and they for it until --comm-timeout, named as a hang. No-op outside MPI jobs.
void end_mpi_job_after_error();

// The CPU communicator of a data-parallel job for a `--comm` choice: "mpi" (the job must have been
// started by mpirun), "tcp" (the star above), or "auto" (MPI under mpirun when this build has MPI,
// else TCP). Throws input_error for "mpi" outside mpirun and comm_error when the communicator does
// not see the rank and size the environment names.
std::unique_ptr<communicator> make_job_communicator(const world_info& w, const std::string& engine,
                                                    std::chrono::milliseconds timeout);

// Whether this build has the NCCL communicator (the CUDA backend with nccl.h and libnccl).
bool nccl_compiled();

// The NCCL communicator for `device`, bootstrapped over `bootstrap` (which must span the same ranks).
// Throws cuda_error without the CUDA backend or a device.
std::unique_ptr<communicator> make_nccl_communicator(communicator& bootstrap, int device,
                                                     std::chrono::milliseconds timeout);

}  // namespace tg
