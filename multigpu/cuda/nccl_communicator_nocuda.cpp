// multigpu/communicator.hpp's NCCL communicator in a build without the CUDA backend or NCCL.
#include "multigpu/communicator.hpp"

namespace tg {

bool nccl_compiled() {
  return false;
}

std::unique_ptr<communicator> make_nccl_communicator(communicator&, int, std::chrono::milliseconds) {
  throw cuda_error("this tiergnn was built without NCCL (the CUDA backend and nccl.h are needed)");
}

}  // namespace tg
