// kernels/gpu_handles.hpp without the CUDA backend.
#include "core/error.hpp"
#include "kernels/gpu_handles.hpp"

namespace tg::gpu {

void* cublas_handle(void*) {
  throw cuda_error("this tiergnn was built without the CUDA backend (cuBLAS)");
}
void* cusparse_handle(void*) {
  throw cuda_error("this tiergnn was built without the CUDA backend (cuSPARSE)");
}

void* cublas_stream_of(void*) {
  throw cuda_error("this tiergnn was built without the CUDA backend (cuBLAS)");
}
void* cusparse_stream_of(void*) {
  throw cuda_error("this tiergnn was built without the CUDA backend (cuSPARSE)");
}

}  // namespace tg::gpu
