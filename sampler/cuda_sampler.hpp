#pragma once
// GPU neighbour sampler (CUDA backend): the same blocks as neighbor_sampler (sampler/neighbor_sampler.hpp)
// for the same seed, epoch, batch and node keys, computed on the device. The CSR lives in device
// memory or in mapped pinned host memory read over PCIe/NVLink (UVA), for graphs larger than the
// GPU. Per hop: per-destination counts and an exclusive scan give the block CSR; one thread per
// destination draws its neighbours with the shared Floyd sampler (sampler/sampling_math.hpp);
// de-duplication and relabelling (destinations first, then new sources in order of first appearance
// in edge order, exactly as the CPU sampler) use CUB radix sorts, scans and selects on the
// sampler's stream. Scratch memory is kept and reused across batches.
//
// g++-compiled code may include this header; the implementation is sampler/cuda/neighbor_sampler.cu,
// or a stub that throws cuda_error in builds without the CUDA backend.
#include <cstdint>
#include <memory>
#include <vector>

#include "core/dataset.hpp"
#include "core/dtype.hpp"
#include "core/span.hpp"
#include "sampler/block.hpp"
#include "sampler/block_sampler.hpp"

namespace tg {

enum class csr_placement { device, pinned_host };

class cuda_neighbor_sampler : public block_sampler {
 public:
  // Copies the CSR into device memory or mapped pinned host memory. Throws input_error for bad
  // fanouts (as neighbor_sampler), budget_error when the device cannot hold the CSR, cuda_error
  // without a device.
  cuda_neighbor_sampler(std::int64_t num_nodes, const std::int64_t* indptr, const void* indices, dtype index_dtype,
                        std::vector<std::int64_t> fanouts, std::uint64_t seed, csr_placement where);
  cuda_neighbor_sampler(const dataset& d, std::vector<std::int64_t> fanouts, std::uint64_t seed, csr_placement where);
  ~cuda_neighbor_sampler();
  cuda_neighbor_sampler(const cuda_neighbor_sampler&) = delete;
  cuda_neighbor_sampler& operator=(const cuda_neighbor_sampler&) = delete;

  // As neighbor_sampler::set_node_keys (copied to the device).
  void set_node_keys(span<const std::int64_t> keys);

  int num_layers() const;
  csr_placement placement() const;

  // Samples on the GPU and copies the blocks back into `out` (host), for comparison with the CPU
  // sampler and for host-side consumers. Seeds: distinct ids in [0, N) (checked; input_error).
  void sample(span<const std::int64_t> seeds, std::int64_t epoch, std::int64_t batch, sampled_batch* out) override;

  // Samples on the GPU and leaves the blocks on the device; returns the number of sampled edges.
  // Waits for the GPU to finish. (For throughput benchmarks and the GPU training loop.)
  std::int64_t sample_on_device(span<const std::int64_t> seeds, std::int64_t epoch, std::int64_t batch);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tg
