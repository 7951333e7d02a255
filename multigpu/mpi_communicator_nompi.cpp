// multigpu/communicator.hpp's MPI communicator in a build without MPI.
#include "multigpu/communicator.hpp"

namespace tg {

bool mpi_compiled() {
  return false;
}

void end_mpi_job_after_error() {}

std::unique_ptr<communicator> make_mpi_communicator(std::chrono::milliseconds) {
  throw comm_error(
      "this tiergnn was built without MPI (install libopenmpi-dev and rebuild), so --comm mpi is not available");
}

}  // namespace tg
