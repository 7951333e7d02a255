// Device probe and a smoke kernel (saxpy) proving that the CUDA build links and runs.
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/cuda/check.cuh"
#include "core/device.hpp"

namespace tg {

namespace {
__global__ void saxpy_kernel(int n, float a, const float* x, float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

struct device_buffer_f {
  float* p = nullptr;
  explicit device_buffer_f(std::size_t n) { TG_CUDA_TRY(cudaMalloc(&p, n * sizeof(float))); }
  ~device_buffer_f() {
    if (p) cudaFree(p);
  }
};

struct stream_owner {
  cudaStream_t s = nullptr;
  stream_owner() { TG_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
  ~stream_owner() {
    if (s) cudaStreamDestroy(s);
  }
};
}  // namespace

bool cuda_compiled() {
  return true;
}

int cuda_device_count() {
  int count = 0;  // left unwritten when there is no driver
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

std::string cuda_device_name(int dev) {
  if (dev >= cuda_device_count()) return "";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, dev) != cudaSuccess) return "";
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %.1f GiB)", prop.name, prop.major, prop.minor,
                prop.totalGlobalMem / 1073741824.0);
  return buf;
}

double cuda_smoke_test(int n) {
  if (cuda_device_count() == 0) throw cuda_error("no CUDA device available");
  TG_CUDA_TRY(cudaSetDevice(0));
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) {
    x[i] = 0.5f * i;
    y[i] = 1.0f - i;
  }
  device_buffer_f dx(n), dy(n);
  stream_owner st;
  TG_CUDA_TRY(cudaMemcpyAsync(dx.p, x.data(), n * sizeof(float), cudaMemcpyHostToDevice, st.s));
  TG_CUDA_TRY(cudaMemcpyAsync(dy.p, y.data(), n * sizeof(float), cudaMemcpyHostToDevice, st.s));
  if (n > 0) {
    saxpy_kernel<<<(n + 255) / 256, 256, 0, st.s>>>(n, 2.0f, dx.p, dy.p);
    TG_CUDA_CHECK_LAUNCH();
  }
  std::vector<float> out(n);
  TG_CUDA_TRY(cudaMemcpyAsync(out.data(), dy.p, n * sizeof(float), cudaMemcpyDeviceToHost, st.s));
  TG_CUDA_TRY(cudaStreamSynchronize(st.s));
  double err = 0;
  for (int i = 0; i < n; ++i) err = std::fmax(err, std::fabs(out[i] - (2.0f * x[i] + y[i])));
  return err;
}

}  // namespace tg
