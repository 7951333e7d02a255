#pragma once
// The GPU tier's promise: before a CUDA store allocates anything, the tier plus what training will
// need beside it must fit in the device's free memory (cudaMemGetInfo). Pure arithmetic, so the
// check and its message are tested on the CPU.
#include <cstdint>
#include <string>

namespace tg {

// Throws budget_error when tier_bytes + reserve_bytes > free_bytes. The message names `what` and
// the three numbers and says by how much the plan is over.
void check_gpu_fit(std::uint64_t tier_bytes, std::uint64_t reserve_bytes, std::uint64_t free_bytes,
                   const std::string& what);

}  // namespace tg
