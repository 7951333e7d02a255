#pragma once
// TG_HD marks inline functions shared by the CPU and CUDA backends: host+device under nvcc, nothing
// under a plain C++ compiler (so .hpp files stay g++-clean).
#if defined(__CUDACC__)
#define TG_HD __host__ __device__ __forceinline__
#else
#define TG_HD inline
#endif
