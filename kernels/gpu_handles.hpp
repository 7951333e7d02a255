#pragma once
// cuBLAS and cuSPARSE handles for the CUDA kernels: one per (thread, device), created on first use
// (creating one costs milliseconds and device memory, so code paths that never need them never pay)
// and destroyed when the thread exits. g++-compiled code may include this header; the handles are
// returned as void* (cublasHandle_t / cusparseHandle_t) and bound to the stream passed in.
// Without the CUDA backend both throw cuda_error.
namespace tg::gpu {

void* cublas_handle(void* stream);
void* cusparse_handle(void* stream);

// The stream a handle is bound to now (cublasGetStream / cusparseGetStream), for tests.
void* cublas_stream_of(void* handle);
void* cusparse_stream_of(void* handle);

}  // namespace tg::gpu
