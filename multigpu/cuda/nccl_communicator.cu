// NCCL communicator (multigpu/communicator.hpp): the unique id travels over the bootstrap (CPU)
// communicator; the NCCL communicator is created non-blocking, so no call can hang:
//  - any NCCL call that returns ncclInProgress is followed by polling ncclCommGetAsyncError until
//    the communicator is ready again (NCCL forbids another NCCL call, and kernels on its stream,
//    before that), against the timeout;
//  - a collective is waited for by polling the stream and ncclCommGetAsyncError against the
//    timeout, so a peer that died or hangs ends in ncclCommAbort and a comm_error instead of a hang;
//  - the destructor finalizes (polled, bounded by the timeout) before it destroys, and aborts when
//    finalizing fails or the communicator already failed.
// Every call makes the communicator's device current and restores the caller's (gpu::device_scope).
#include <nccl.h>

#include <string>
#include <thread>

#include "core/cuda/check.cuh"
#include "core/gpu_memory.hpp"
#include "multigpu/communicator.hpp"

namespace tg {

namespace {

using clock_type = std::chrono::steady_clock;

gpu::stream stream_on(int device) {
  const gpu::device_scope on(device);
  return gpu::stream();
}

class nccl_comm final : public communicator {
 public:
  // The stream is an owner member, so nothing leaks when initialisation throws.
  nccl_comm(communicator& boot, int device, std::chrono::milliseconds timeout)
      : rank_(boot.rank()), size_(boot.size()), device_(device), timeout_(timeout), stream_(stream_on(device)) {
    const gpu::device_scope on(device_);
    scratch_ = gpu::device_buffer<float>(1);  // before the communicator, so a failed allocation leaks nothing
    ncclUniqueId id{};
    if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    boot.broadcast(&id, sizeof id, 0);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    const ncclResult_t r = ncclCommInitRankConfig(&comm_, size_, id, rank_, &config);
    if (r != ncclSuccess && r != ncclInProgress) {
      if (comm_) (void)ncclCommAbort(comm_);
      comm_ = nullptr;
      check(r, "ncclCommInitRankConfig");
    }
    settle("creating the NCCL communicator");
  }

  ~nccl_comm() override {
    if (!comm_) return;
    try {
      const gpu::device_scope on(device_);
      // Finalize flushes outstanding work; on a non-blocking communicator it may return
      // ncclInProgress, so poll it (bounded) before destroying. Abort on failure or timeout.
      ncclResult_t r = ncclCommFinalize(comm_);
      const auto deadline = clock_type::now() + timeout_;
      while (r == ncclInProgress && clock_type::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        (void)ncclCommGetAsyncError(comm_, &r);
      }
      if (r == ncclSuccess)
        (void)ncclCommDestroy(comm_);
      else
        (void)ncclCommAbort(comm_);
    } catch (...) {
      (void)ncclCommAbort(comm_);
    }
    comm_ = nullptr;
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* kind() const override { return "nccl"; }

  void all_reduce_sum(float* data, std::size_t n) override {
    if (n == 0) return;
    const gpu::device_scope on(device_);
    post(ncclAllReduce(data, data, n, ncclFloat32, ncclSum, comm(), stream()), "ncclAllReduce");
    complete("ncclAllReduce");
  }
  void all_reduce_sum(double* data, std::size_t n) override {
    if (n == 0) return;
    const gpu::device_scope on(device_);
    post(ncclAllReduce(data, data, n, ncclFloat64, ncclSum, comm(), stream()), "ncclAllReduce");
    complete("ncclAllReduce");
  }
  void broadcast(void* data, std::size_t bytes, int root) override {
    if (bytes == 0) return;
    const gpu::device_scope on(device_);
    post(ncclBroadcast(data, data, bytes, ncclUint8, root, comm(), stream()), "ncclBroadcast");
    complete("ncclBroadcast");
  }
  void all_gather(const void* send, std::size_t bytes, void* recv) override {
    if (bytes == 0) return;
    const gpu::device_scope on(device_);
    post(ncclAllGather(send, recv, bytes, ncclUint8, comm(), stream()), "ncclAllGather");
    complete("ncclAllGather");
  }
  void barrier() override { all_reduce_sum(scratch_.data(), 1); }

  void all_to_all_v(const void* send, const std::size_t* send_bytes, void* recv,
                    const std::size_t* recv_bytes) override {
    const gpu::device_scope on(device_);
    const auto* s = static_cast<const std::uint8_t*>(send);
    auto* d = static_cast<std::uint8_t*>(recv);
    std::size_t so = 0, ro = 0, own_s = 0, own_r = 0, total = 0;
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) {
        own_s = so;
        own_r = ro;
        if (send_bytes[r] != recv_bytes[r])
          throw comm_error("all_to_all_v: rank " + std::to_string(rank_) + " sends itself " +
                           std::to_string(send_bytes[r]) + " bytes but expects " + std::to_string(recv_bytes[r]));
      }
      so += send_bytes[r];
      ro += recv_bytes[r];
      total += r == rank_ ? 0 : send_bytes[r] + recv_bytes[r];
    }
    // Its own part: a copy on the communicator's stream, before the group.
    if (send_bytes[rank_] > 0)
      TG_CUDA_TRY(cudaMemcpyAsync(d + own_r, s + own_s, send_bytes[rank_], cudaMemcpyDeviceToDevice, stream()));
    if (total > 0) {
      post(ncclGroupStart(), "ncclGroupStart");
      so = ro = 0;
      for (int r = 0; r < size_; ++r) {
        if (r != rank_) {
          ncclResult_t e = ncclSuccess;
          if (send_bytes[r] > 0) e = ncclSend(s + so, send_bytes[r], ncclUint8, r, comm(), stream());
          if ((e == ncclSuccess || e == ncclInProgress) && recv_bytes[r] > 0)
            e = ncclRecv(d + ro, recv_bytes[r], ncclUint8, r, comm(), stream());
          if (e != ncclSuccess && e != ncclInProgress) {
            (void)ncclGroupEnd();
            abort_and_throw(std::string("all_to_all_v (ncclSend / ncclRecv): ") + ncclGetErrorString(e));
          }
        }
        so += send_bytes[r];
        ro += recv_bytes[r];
      }
      post(ncclGroupEnd(), "ncclGroupEnd (all_to_all_v)");
    }
    complete("all_to_all_v");
  }

  using communicator::all_reduce_sum_async;
  void all_reduce_sum_async(const buffer* buffers, std::size_t count, void* ready_event) override {
    std::size_t work = 0;
    for (std::size_t i = 0; i < count; ++i) work += buffers[i].n;
    if (work == 0) return;
    const gpu::device_scope on(device_);
    if (ready_event) TG_CUDA_TRY(cudaStreamWaitEvent(stream(), static_cast<cudaEvent_t>(ready_event), 0));
    // One group: NCCL launches the buffers' reductions together. Inside a group the calls only
    // record work; ncclGroupEnd launches it and, non-blocking, may return ncclInProgress.
    post(ncclGroupStart(), "ncclGroupStart");
    for (std::size_t i = 0; i < count; ++i) {
      if (buffers[i].n == 0) continue;
      const ncclResult_t r =
          ncclAllReduce(buffers[i].data, buffers[i].data, buffers[i].n, ncclFloat32, ncclSum, comm(), stream());
      if (r != ncclSuccess && r != ncclInProgress) {
        (void)ncclGroupEnd();
        abort_and_throw(std::string("ncclAllReduce: ") + ncclGetErrorString(r));
      }
    }
    post(ncclGroupEnd(), "ncclGroupEnd (all-reduces)");
    pending_ = true;
  }
  void wait_all() override {
    if (!pending_) return;
    pending_ = false;
    const gpu::device_scope on(device_);
    complete("ncclAllReduce (overlapped)");
  }

 private:
  ncclComm_t comm() const {
    if (!comm_) throw comm_error("rank " + std::to_string(rank_) + ": the NCCL communicator was aborted earlier");
    return comm_;
  }
  cudaStream_t stream() const { return static_cast<cudaStream_t>(stream_.handle()); }

  void check(ncclResult_t r, const char* what) {
    if (r != ncclSuccess)
      throw comm_error("rank " + std::to_string(rank_) + ": " + what + " failed: " + ncclGetErrorString(r) +
                       (r == ncclSystemError || r == ncclRemoteError ? " (a peer may have died)" : ""));
  }

  [[noreturn]] void abort_and_throw(const std::string& what) {
    if (comm_) {
      (void)ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    throw comm_error("rank " + std::to_string(rank_) + ": " + what + "; the NCCL communicator was aborted");
  }

  // After a call that returned r: an error aborts; ncclInProgress is polled until the communicator
  // is ready for the next call.
  void post(ncclResult_t r, const char* what) {
    if (r == ncclSuccess) return;
    if (r != ncclInProgress) abort_and_throw(std::string(what) + ": " + ncclGetErrorString(r));
    settle(what);
  }

  // Polls ncclCommGetAsyncError until ncclSuccess (the last call's asynchronous part is done).
  void settle(const char* doing) {
    const auto deadline = clock_type::now() + timeout_;
    while (true) {
      ncclResult_t st = ncclSuccess;
      const ncclResult_t q = ncclCommGetAsyncError(comm_, &st);
      if (q != ncclSuccess) abort_and_throw(std::string(doing) + ": ncclCommGetAsyncError: " + ncclGetErrorString(q));
      if (st == ncclSuccess) return;
      if (st != ncclInProgress) abort_and_throw(std::string(doing) + " failed: " + ncclGetErrorString(st));
      if (clock_type::now() > deadline)
        abort_and_throw(std::string("timed out ") + doing + " after " + std::to_string(timeout_.count()) + " ms");
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  // Waits until the communicator's stream has run everything posted, watching for asynchronous
  // NCCL errors and the deadline.
  void complete(const char* what) {
    const auto deadline = clock_type::now() + timeout_;
    while (true) {
      const cudaError_t q = cudaStreamQuery(stream());
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) {
        (void)cudaGetLastError();
        abort_and_throw(std::string(what) + ": " + cudaGetErrorString(q));
      }
      ncclResult_t st = ncclSuccess;
      (void)ncclCommGetAsyncError(comm_, &st);
      if (st != ncclSuccess && st != ncclInProgress)
        abort_and_throw(std::string(what) + " failed: " + ncclGetErrorString(st) + " (a peer may have died)");
      if (clock_type::now() > deadline)
        abort_and_throw(std::string(what) + " did not finish within " + std::to_string(timeout_.count()) +
                        " ms (a peer died or hangs)");
      std::this_thread::yield();
    }
  }

  int rank_ = 0, size_ = 1, device_ = 0;
  std::chrono::milliseconds timeout_;
  gpu::stream stream_;
  ncclComm_t comm_ = nullptr;
  gpu::device_buffer<float> scratch_;
  bool pending_ = false;
};

}  // namespace

bool nccl_compiled() {
  return true;
}

std::unique_ptr<communicator> make_nccl_communicator(communicator& bootstrap, int device,
                                                     std::chrono::milliseconds timeout) {
  return std::make_unique<nccl_comm>(bootstrap, device, timeout);
}

}  // namespace tg
