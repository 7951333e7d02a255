// NCCL communicator (multigpu/communicator.hpp): the unique id travels over the bootstrap (CPU)
// communicator; the NCCL communicator is created non-blocking, and every collective is waited for
// by polling the stream and ncclCommGetAsyncError against the timeout, so a peer that died or hangs
// ends in ncclCommAbort and a comm_error instead of a hang.
#include <nccl.h>

#include <string>
#include <thread>

#include "core/cuda/check.cuh"
#include "core/gpu_memory.hpp"
#include "multigpu/communicator.hpp"

namespace tg {

namespace {

using clock_type = std::chrono::steady_clock;

class nccl_comm final : public communicator {
 public:
  nccl_comm(communicator& boot, int device, std::chrono::milliseconds timeout)
      : rank_(boot.rank()), size_(boot.size()), device_(device), timeout_(timeout) {
    TG_CUDA_TRY(cudaSetDevice(device_));
    TG_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    ncclUniqueId id{};
    if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    boot.broadcast(&id, sizeof id, 0);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    const ncclResult_t r = ncclCommInitRankConfig(&comm_, size_, id, rank_, &config);
    if (r != ncclSuccess && r != ncclInProgress) check(r, "ncclCommInitRankConfig");
    wait_async("creating the NCCL communicator");
    scratch_ = gpu::device_buffer<float>(1);
  }

  ~nccl_comm() override {
    if (comm_) (void)ncclCommDestroy(comm_);
    if (stream_) (void)cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* kind() const override { return "nccl"; }

  void all_reduce_sum(float* data, std::size_t n) override {
    if (n == 0) return;
    enqueue(ncclAllReduce(data, data, n, ncclFloat32, ncclSum, comm_, stream_), "ncclAllReduce");
  }
  void all_reduce_sum(double* data, std::size_t n) override {
    if (n == 0) return;
    enqueue(ncclAllReduce(data, data, n, ncclFloat64, ncclSum, comm_, stream_), "ncclAllReduce");
  }
  void broadcast(void* data, std::size_t bytes, int root) override {
    if (bytes == 0) return;
    enqueue(ncclBroadcast(data, data, bytes, ncclUint8, root, comm_, stream_), "ncclBroadcast");
  }
  void all_gather(const void* send, std::size_t bytes, void* recv) override {
    if (bytes == 0) return;
    enqueue(ncclAllGather(send, recv, bytes, ncclUint8, comm_, stream_), "ncclAllGather");
  }
  void barrier() override { all_reduce_sum(scratch_.data(), 1); }

  void all_reduce_sum_async(float* data, std::size_t n, void* ready_event) override {
    if (n == 0) return;
    if (ready_event) TG_CUDA_TRY(cudaStreamWaitEvent(stream_, static_cast<cudaEvent_t>(ready_event), 0));
    const ncclResult_t r = ncclAllReduce(data, data, n, ncclFloat32, ncclSum, comm_, stream_);
    if (r != ncclSuccess && r != ncclInProgress)
      abort_and_throw(std::string("ncclAllReduce: ") + ncclGetErrorString(r));
    pending_ = true;
  }
  void wait_all() override {
    if (!pending_) return;
    pending_ = false;
    enqueue(ncclSuccess, "ncclAllReduce (overlapped)");
  }

 private:
  void check(ncclResult_t r, const char* what) {
    if (r != ncclSuccess)
      throw comm_error("rank " + std::to_string(rank_) + ": " + what + " failed: " + ncclGetErrorString(r) +
                       (r == ncclSystemError || r == ncclRemoteError ? " (a peer may have died)" : ""));
  }

  void abort_and_throw(const std::string& what) {
    if (comm_) {
      (void)ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    throw comm_error("rank " + std::to_string(rank_) + ": " + what + "; the NCCL communicator was aborted");
  }

  void wait_async(const char* doing) {
    const auto deadline = clock_type::now() + timeout_;
    while (true) {
      ncclResult_t st = ncclSuccess;
      (void)ncclCommGetAsyncError(comm_, &st);
      if (st == ncclSuccess) return;
      if (st != ncclInProgress) abort_and_throw(std::string(doing) + " failed: " + ncclGetErrorString(st));
      if (clock_type::now() > deadline) abort_and_throw(std::string("timed out ") + doing);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  void enqueue(ncclResult_t r, const char* what) {
    if (r != ncclSuccess && r != ncclInProgress) abort_and_throw(std::string(what) + ": " + ncclGetErrorString(r));
    const auto deadline = clock_type::now() + timeout_;
    while (true) {
      const cudaError_t q = cudaStreamQuery(stream_);
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
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
  gpu::device_buffer<float> scratch_;
  bool pending_ = false;
};

}  // namespace

std::unique_ptr<communicator> make_nccl_communicator(communicator& bootstrap, int device,
                                                     std::chrono::milliseconds timeout) {
  return std::make_unique<nccl_comm>(bootstrap, device, timeout);
}

}  // namespace tg
