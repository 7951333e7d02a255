#pragma once
// CUDA call checking: every runtime call and every launch goes through TG_CUDA_TRY.
#include <cuda_runtime.h>

#include <string>

#include "core/error.hpp"

#define TG_CUDA_TRY(call)                                                                                           \
  do {                                                                                                              \
    const cudaError_t tg_status_ = (call);                                                                          \
    if (tg_status_ != cudaSuccess) {                                                                                \
      (void)cudaGetLastError();                                                                                     \
      throw ::tg::cuda_error(std::string(#call) + " failed: " + cudaGetErrorName(tg_status_) + " (" +               \
                             cudaGetErrorString(tg_status_) + ") at " + __FILE__ + ":" + std::to_string(__LINE__)); \
    }                                                                                                               \
  } while (0)

// After a kernel launch: reports launch-configuration errors immediately.
#define TG_CUDA_CHECK_LAUNCH() TG_CUDA_TRY(cudaPeekAtLastError())
