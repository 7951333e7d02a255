// tiering/tiered_gather.hpp without the CUDA backend.
#include "core/error.hpp"
#include "tiering/tiered_gather.hpp"

namespace tg {

void tiered_gather_cuda(const tiered_gather_args& a, void*) {
  if (a.n <= 0) return;
  throw cuda_error("this tiergnn was built without the CUDA backend");
}

}  // namespace tg
