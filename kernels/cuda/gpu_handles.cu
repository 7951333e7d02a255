// Lazily created, per-thread and per-device cuBLAS / cuSPARSE handles (kernels/gpu_handles.hpp).
#include <cublas_v2.h>
#include <cusparse.h>

#include <map>
#include <string>

#include "core/cuda/check.cuh"
#include "kernels/gpu_handles.hpp"

namespace tg::gpu {

namespace {

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw cuda_error(std::string(what) + " failed: cuBLAS status " + std::to_string(static_cast<int>(s)));
}
void check_cusparse(cusparseStatus_t s, const char* what) {
  if (s != CUSPARSE_STATUS_SUCCESS) throw cuda_error(std::string(what) + " failed: " + cusparseGetErrorString(s));
}

struct handles {
  std::map<int, cublasHandle_t> blas;
  std::map<int, cusparseHandle_t> sparse;
  ~handles() {
    for (auto& [d, h] : blas) (void)cublasDestroy(h);
    for (auto& [d, h] : sparse) (void)cusparseDestroy(h);
  }
};
thread_local handles tls;

int device() {
  int d = 0;
  TG_CUDA_TRY(cudaGetDevice(&d));
  return d;
}

}  // namespace

void* cublas_handle(void* stream) {
  const int d = device();
  auto it = tls.blas.find(d);
  if (it == tls.blas.end()) {
    cublasHandle_t h = nullptr;
    check_cublas(cublasCreate(&h), "cublasCreate");
    it = tls.blas.emplace(d, h).first;
  }
  check_cublas(cublasSetStream(it->second, static_cast<cudaStream_t>(stream)), "cublasSetStream");
  return it->second;
}

void* cusparse_handle(void* stream) {
  const int d = device();
  auto it = tls.sparse.find(d);
  if (it == tls.sparse.end()) {
    cusparseHandle_t h = nullptr;
    check_cusparse(cusparseCreate(&h), "cusparseCreate");
    it = tls.sparse.emplace(d, h).first;
  }
  check_cusparse(cusparseSetStream(it->second, static_cast<cudaStream_t>(stream)), "cusparseSetStream");
  return it->second;
}

void* cublas_stream_of(void* handle) {
  cudaStream_t s = nullptr;
  check_cublas(cublasGetStream(static_cast<cublasHandle_t>(handle), &s), "cublasGetStream");
  return s;
}

void* cusparse_stream_of(void* handle) {
  cudaStream_t s = nullptr;
  check_cusparse(cusparseGetStream(static_cast<cusparseHandle_t>(handle), &s), "cusparseGetStream");
  return s;
}

}  // namespace tg::gpu
