#include <gtest/gtest.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "kernels/gpu_handles.hpp"

TEST(GpuHandles, CreatedOnceBoundToTheStream) {
  if (tg::cuda_device_count() == 0)
    GTEST_SKIP() << (tg::cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend");
  tg::gpu::stream a, b;
  void* h1 = tg::gpu::cublas_handle(a.handle());
  void* h2 = tg::gpu::cublas_handle(b.handle());
  EXPECT_NE(h1, nullptr);
  EXPECT_EQ(h1, h2);  // one per thread and device, rebound to the caller's stream
  void* s1 = tg::gpu::cusparse_handle(a.handle());
  EXPECT_NE(s1, nullptr);
  EXPECT_EQ(s1, tg::gpu::cusparse_handle(b.handle()));
}

TEST(GpuHandles, WithoutADeviceTheyFailCleanly) {
  if (tg::cuda_device_count() != 0) GTEST_SKIP() << "this machine has a device (the test is for machines without one)";
  EXPECT_THROW(tg::gpu::cublas_handle(nullptr), tg::error);
  EXPECT_THROW(tg::gpu::cusparse_handle(nullptr), tg::error);
}
