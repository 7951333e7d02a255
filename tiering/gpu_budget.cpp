#include "tiering/gpu_budget.hpp"

#include "core/error.hpp"
#include "core/progress.hpp"

namespace tg {

void check_gpu_fit(std::uint64_t tier_bytes, std::uint64_t reserve_bytes, std::uint64_t free_bytes,
                   const std::string& what) {
  const std::uint64_t need = tier_bytes + reserve_bytes;
  if (need <= free_bytes) return;
  throw budget_error(what + ": the GPU tier (" + format_bytes(static_cast<double>(tier_bytes)) +
                     ") and training's own memory (" + format_bytes(static_cast<double>(reserve_bytes)) + ") need " +
                     format_bytes(static_cast<double>(need)) + " but the device has " +
                     format_bytes(static_cast<double>(free_bytes)) +
                     " free: " + format_bytes(static_cast<double>(need - free_bytes)) +
                     " over. Prepare with a smaller --gpu-mem, or pass a smaller --gpu-mem to train.");
}

}  // namespace tg
