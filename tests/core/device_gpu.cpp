#include <gtest/gtest.h>

#include "core/device.hpp"

// Label gpu: skips visibly when this machine has no usable CUDA device (or no CUDA backend).
TEST(CudaDevice, SmokeKernelMatchesHost) {
  if (tg::cuda_device_count() == 0)
    GTEST_SKIP() << (tg::cuda_compiled() ? "no CUDA device on this machine"
                                         : "built without the CUDA backend");
  std::printf("device: %s\n", tg::cuda_device_name(0).c_str());
  EXPECT_EQ(tg::cuda_smoke_test(1 << 20), 0.0);
  EXPECT_EQ(tg::cuda_smoke_test(0), 0.0);  // empty launch is skipped, not an error
}

TEST(CudaDevice, ProbeNeverThrows) {
  EXPECT_NO_THROW(tg::cuda_device_count());
  EXPECT_GE(tg::cuda_device_count(), 0);
}
