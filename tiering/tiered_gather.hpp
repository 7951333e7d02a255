#pragma once
// The CUDA tiered gather (tiering/cuda/tiered_gather.cu): one launch serves a batch's input ids.
// Output row i is feature row ids[i], read from
//   ids[i] <  g        the GPU tier (device memory; row r at gpu_tier + r * row_bytes)
//   g <= ids[i] < c    the host tier, zero-copy (mapped pinned memory; row r at host_tier + (r - g) * row_bytes)
//   c <= ids[i]        the disk tier's pinned staging buffer, filled by the reader pool (row at staging + slot[i] *
//   row_bytes)
// and converted to float32 (float16 rows are widened). Each row is read by a group of lanes (a warp
// for rows of 512 bytes or more, 16/8/4 lanes for smaller rows) with 16-byte loads at 16-byte-aligned
// addresses, starting from the row's 128-byte line (the PyTorch-Direct/DGL alignment trick): a row
// that does not start on a line boundary is read from the line before it, lanes that fall outside
// the row loading nothing, so every PCIe request covers whole 128-byte lines. The same launch counts
// the rows each tier serves (block-level counters, one atomic per block and tier): the GPU ledger.
//
// g++-compiled code may include this header; without the CUDA backend the launcher throws cuda_error.
#include <cstdint>

#include "core/dtype.hpp"

namespace tg {

struct tiered_gather_args {
  const std::int64_t* ids = nullptr;  // device memory, n ids in [0, num_rows)
  std::int64_t n = 0;
  std::int64_t g = 0, c = 0;
  const void* gpu_tier = nullptr;      // device memory
  const void* host_tier = nullptr;     // device address of mapped pinned memory
  const void* staging = nullptr;       // device address of mapped pinned staging (disk rows)
  const std::int32_t* slot = nullptr;  // device memory, n: staging slot of output row i (disk rows only)
  bool host_via_staging = false;       // host-tier rows were copied into staging too (the copy path)
  std::int64_t dim = 0;
  dtype type = dtype::float32;           // float32 or float16
  float* out = nullptr;                  // device memory, n x dim
  unsigned long long* counts = nullptr;  // device memory, 4 counters (gpu, host, disk, peer rows) added to; may be null
  // Multi-GPU shared hot tier (tiering/shared_tier.hpp): rows [0, r) replicated in gpu_tier, rows
  // [r, g) striped over k GPUs, row id on GPU id mod k (DESIGN.md §4) at its position among that
  // GPU's rows of the band; stripes (device memory, k pointers) holds this GPU's stripe at [me] and the peers'
  // stripes opened over CUDA IPC elsewhere. r < 0: no striping, [0, g) all in gpu_tier.
  std::int64_t r = -1;
  int k = 1, me = 0;
  const void* const* stripes = nullptr;
};

// Launches the gather on `stream` (a cudaStream_t). Zero ids launch nothing.
void tiered_gather_cuda(const tiered_gather_args& a, void* stream);

}  // namespace tg
