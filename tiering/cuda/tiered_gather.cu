// Tiered gather kernel (see tiering/tiered_gather.hpp for what it computes and why).
#include <cuda_fp16.h>

#include "core/cuda/check.cuh"
#include "tiering/tiered_gather.hpp"

namespace tg {

namespace {

constexpr int kBlockThreads = 256;

template <typename src_t>
__device__ __forceinline__ void emit(const std::uint8_t* chunk, std::uintptr_t chunk_addr, std::uintptr_t row_start,
                                     std::uintptr_t row_end, float* out_row) {
  // Writes the elements of one 16-byte chunk that lie inside [row_start, row_end).
  constexpr int kElems = 16 / sizeof(src_t);
#pragma unroll
  for (int k = 0; k < kElems; ++k) {
    const std::uintptr_t a = chunk_addr + k * sizeof(src_t);
    if (a >= row_start && a < row_end) {
      const auto e = static_cast<std::int64_t>((a - row_start) / sizeof(src_t));
      if constexpr (sizeof(src_t) == 4) {
        out_row[e] = reinterpret_cast<const float*>(chunk)[k];
      } else {
        out_row[e] = __half2float(reinterpret_cast<const __half*>(chunk)[k]);
      }
    }
  }
}

// LANES lanes per row; each block serves kBlockThreads / LANES rows.
template <int LANES, typename src_t>
__global__ void tiered_gather_kernel(tiered_gather_args a) {
  __shared__ unsigned long long tier_rows[4];
  if (threadIdx.x < 4) tier_rows[threadIdx.x] = 0;
  __syncthreads();

  const std::int64_t rows_per_block = kBlockThreads / LANES;
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * rows_per_block + threadIdx.x / LANES;
  const int lane = static_cast<int>(threadIdx.x % LANES);
  const std::int64_t row_bytes = a.dim * static_cast<std::int64_t>(sizeof(src_t));
  if (i < a.n) {
    const std::int64_t id = a.ids[i];
    const std::uint8_t* src;
    int tier;
    if (id < a.g && a.r >= 0 && id >= a.r) {
      // The striped band: this GPU's stripe or a peer's, read over NVLink / PCIe P2P.
      // Row id lives on GPU id mod k (DESIGN.md §4), at its position among that GPU's rows of the band.
      const std::int64_t q = id % a.k;
      const std::int64_t first = a.r + ((q - a.r % a.k) % a.k + a.k) % a.k;
      const std::int64_t at = (id - first) / a.k;
      src = static_cast<const std::uint8_t*>(a.stripes[q]) + at * row_bytes;
      tier = q == a.me ? 0 : 3;
    } else if (id < a.g) {
      src = static_cast<const std::uint8_t*>(a.gpu_tier) + id * row_bytes;
      tier = 0;
    } else if (id < a.c) {
      src = a.host_via_staging
                ? static_cast<const std::uint8_t*>(a.staging) + static_cast<std::int64_t>(a.slot[i]) * row_bytes
                : static_cast<const std::uint8_t*>(a.host_tier) + (id - a.g) * row_bytes;
      tier = 1;
    } else {
      src = static_cast<const std::uint8_t*>(a.staging) + static_cast<std::int64_t>(a.slot[i]) * row_bytes;
      tier = 2;
    }
    if (lane == 0) atomicAdd(&tier_rows[tier], 1ull);
    float* out_row = a.out + i * a.dim;
    const auto start = reinterpret_cast<std::uintptr_t>(src);
    const auto end = start + static_cast<std::uintptr_t>(row_bytes);
    if (sizeof(src_t) == 4 && (start % 16) == 0 && (row_bytes % 16) == 0 &&
        (reinterpret_cast<std::uintptr_t>(out_row) % 16) == 0) {
      // Aligned float32 rows: straight 16-byte copies (rows of 128-byte multiples are whole lines).
      const auto* s4 = reinterpret_cast<const int4*>(src);
      auto* d4 = reinterpret_cast<int4*>(out_row);
      for (std::int64_t k = lane; k < row_bytes / 16; k += LANES) d4[k] = s4[k];
    } else {
      // Start at the row's 128-byte line; load only chunks that overlap the row.
      const std::uintptr_t line = start & ~static_cast<std::uintptr_t>(127);
      for (std::uintptr_t chunk = line + static_cast<std::uintptr_t>(lane) * 16; chunk < end;
           chunk += static_cast<std::uintptr_t>(LANES) * 16) {
        if (chunk + 16 <= start) continue;
        const int4 v = *reinterpret_cast<const int4*>(chunk);
        emit<src_t>(reinterpret_cast<const std::uint8_t*>(&v), chunk, start, end, out_row);
      }
    }
  }
  __syncthreads();
  if (a.counts && threadIdx.x < 4 && tier_rows[threadIdx.x]) atomicAdd(&a.counts[threadIdx.x], tier_rows[threadIdx.x]);
}

template <int LANES>
void launch(const tiered_gather_args& a, cudaStream_t s) {
  const std::int64_t rows_per_block = kBlockThreads / LANES;
  const auto blocks = static_cast<unsigned>((a.n + rows_per_block - 1) / rows_per_block);
  if (a.type == dtype::float16)
    tiered_gather_kernel<LANES, __half><<<blocks, kBlockThreads, 0, s>>>(a);
  else
    tiered_gather_kernel<LANES, float><<<blocks, kBlockThreads, 0, s>>>(a);
  TG_CUDA_CHECK_LAUNCH();
}

}  // namespace

void tiered_gather_cuda(const tiered_gather_args& a, void* stream) {
  if (a.n <= 0) return;
  TG_EXPECTS(a.type == dtype::float32 || a.type == dtype::float16, "tiered gather: float32 or float16 rows");
  const auto s = static_cast<cudaStream_t>(stream);
  const std::int64_t row_bytes = a.dim * static_cast<std::int64_t>(dtype_size(a.type));
  // Lanes per row: enough 16-byte loads to cover the row (plus its misalignment) in one or two steps.
  if (row_bytes >= 512)
    launch<32>(a, s);
  else if (row_bytes >= 256)
    launch<16>(a, s);
  else if (row_bytes >= 128)
    launch<8>(a, s);
  else
    launch<4>(a, s);
}

}  // namespace tg
