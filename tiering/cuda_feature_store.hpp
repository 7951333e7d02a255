#pragma once
// The tiered feature store, CUDA backend (DESIGN.md §4): the GPU tier (rows [0, g)) in device
// memory, the host tier (rows [g, c)) in mapped pinned host memory read zero-copy by the gather
// kernel (tiering/tiered_gather.hpp) — either a pinned copy or, with register_host_tier, the
// features file's own mapping pinned in place (cudaHostRegister) — and the disk tier (rows >= c)
// read by a pool of readers into a pinned staging buffer that the same kernel reads. Gathered rows
// land in device memory as float32. The ledger's counts come from the kernel (GPU-side counters)
// and equal the CPU backend's for the same ids and boundaries.
//
// Budget: before anything is allocated, the GPU tier plus `reserve_bytes` (what training needs
// beside it) is checked against the device's free memory; a plan that does not fit throws
// budget_error with the numbers (tiering/gpu_budget.hpp).
//
// Every call makes the store's device current for its duration and restores the caller's
// (gpu::device_scope), so it works from any thread and never moves the caller's current device.
//
// g++-compiled code may include this header. Without the CUDA backend, or without a device, the
// constructor throws cuda_error.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/dataset.hpp"
#include "core/span.hpp"
#include "tiering/disk_reader.hpp"
#include "tiering/ledger.hpp"
#include "tiering/store.hpp"

namespace tg {

class cuda_tiered_store final : public feature_store {
 public:
  struct options {
    int device = 0;
    int disk_readers = 4;
    std::uint64_t reserve_bytes = 0;  // GPU memory training needs beside the tier
    // Pin the file's mapping in place instead of copying the host tier. Off in training (tiering/
    // store.cpp): registering a large file mapping hung on an H200 VM; see bench/results/gpu_check_h200.md.
    bool register_host_tier = false;
    // false: the kernel reads host rows zero-copy. true: the classic data path of DGL/PyG (a
    // baseline): CPU threads gather the batch's host and disk rows into a pinned buffer, one DMA
    // copy moves it to the device, and the kernel reads it there.
    bool cpu_gather_copy = false;
    // Multi-GPU shared hot tier (one process per GPU, tiering/shared_tier.hpp): with replicated >= 0
    // and k > 1, rows [0, replicated) are copied on every GPU and rows [replicated, g) striped, row
    // id on GPU id mod k (DESIGN.md §4); each rank loads its own stripe and reads the peers' over
    // CUDA IPC (NVLink / PCIe P2P). all_gather exchanges the IPC handles (the job's communicator).
    struct shared_band {
      std::int64_t replicated = -1;
      int k = 1, rank = 0;
      std::function<void(const void* send, std::size_t bytes, void* recv)> all_gather;
    } shared;
  };

  cuda_tiered_store(const dataset& d, std::int64_t g, std::int64_t c, const options& opt);
  // The same over a feature file of its own (a machine's shard, multigpu/sharded_store.hpp): its
  // host tier is always a pinned copy (register_host_tier does not apply).
  cuda_tiered_store(const feature_file& f, std::int64_t g, std::int64_t c, const options& opt);
  ~cuda_tiered_store();
  cuda_tiered_store(const cuda_tiered_store&) = delete;
  cuda_tiered_store& operator=(const cuda_tiered_store&) = delete;

  std::int64_t num_rows() const override;
  std::int64_t dim() const override;
  std::int64_t row_bytes() const override;
  std::int64_t g() const override;
  std::int64_t c() const override;

  // Gathers the rows of host ids into device memory `out_device` (ids.size() x dim float32) and
  // waits for completion. Adds this call's GPU-counted tier rows to `counts` when given. Throws
  // input_error for an id outside [0, N) before any work.
  void gather(span<const std::int64_t> ids, float* out_device, traffic* counts = nullptr);
  void gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) override;
  memory_kind output_memory() const override { return memory_kind::device; }

  // Convenience for tests and host consumers: gathers into host memory `out` (ids.size() x dim).
  void gather_to_host(span<const std::int64_t> ids, float* out, traffic* counts = nullptr);

  // How the host tier reaches the kernel (a sentence for logs and benchmarks): a pinned copy, the
  // file's mapping registered in place (read-only, or writable where the device cannot), or the
  // CPU-gather-and-copy path.
  std::string host_tier_mode() const override;
  int device() const;

  // The stream the store works on (a tg::gpu::stream), on device().
  const void* stream_handle() const;

  // Device time of the last gather's kernel alone (events around the launch), in milliseconds.
  double last_kernel_ms() const;

 private:
  void init(const feature_file& f, std::int64_t g, std::int64_t c, const options& opt, const void* mapped,
            const std::string& where);
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tg
