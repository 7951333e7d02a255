#include <gtest/gtest.h>

#include <thread>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "kernels/gpu_handles.hpp"

TEST(GpuHandles, CreatedOnceBoundToTheStream) {
  if (tg::cuda_device_count() == 0)
    GTEST_SKIP() << (tg::cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend");
  tg::gpu::stream a, b;
  void* h1 = tg::gpu::cublas_handle(a.handle());
  EXPECT_EQ(tg::gpu::cublas_stream_of(h1), a.handle());
  void* h2 = tg::gpu::cublas_handle(b.handle());
  EXPECT_NE(h1, nullptr);
  EXPECT_EQ(h1, h2);  // one per thread and device, rebound to the caller's stream
  EXPECT_EQ(tg::gpu::cublas_stream_of(h1), b.handle());
  void* s1 = tg::gpu::cusparse_handle(a.handle());
  EXPECT_NE(s1, nullptr);
  EXPECT_EQ(tg::gpu::cusparse_stream_of(s1), a.handle());
  EXPECT_EQ(s1, tg::gpu::cusparse_handle(b.handle()));
  EXPECT_EQ(tg::gpu::cusparse_stream_of(s1), b.handle());
  // Another thread gets handles of its own.
  void* other = nullptr;
  std::thread([&] { other = tg::gpu::cublas_handle(a.handle()); }).join();
  EXPECT_NE(other, h1);
}

TEST(GpuHandles, WithoutADeviceTheyFailCleanly) {
  if (tg::cuda_device_count() != 0) GTEST_SKIP() << "this machine has a device (the test is for machines without one)";
  EXPECT_THROW(tg::gpu::cublas_handle(nullptr), tg::error);
  EXPECT_THROW(tg::gpu::cusparse_handle(nullptr), tg::error);
}
