// The CUDA backend op by op against the CPU backend (tests/kernels/backend_ops.hpp), per-op
// tolerances for sums in another order; skips without a GPU.
#include <gtest/gtest.h>

#include "backend_ops.hpp"
#include "core/device.hpp"

using namespace tg;

namespace {
std::unique_ptr<backend> cuda_or_skip() {
  if (cuda_device_count() == 0) return nullptr;
  return make_backend(device_kind::cuda, 0);
}
#define TG_CUDA_BACKEND_OR_SKIP(be) \
  auto be = cuda_or_skip();         \
  if (!be) GTEST_SKIP() << (cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend")
}  // namespace

TEST(CudaBackendOps, Buffers) {
  TG_CUDA_BACKEND_OR_SKIP(be);
  test::check_buffers(*be);
}
TEST(CudaBackendOps, Matmul) {
  TG_CUDA_BACKEND_OR_SKIP(be);
  test::check_matmul(*be, test::op_tolerance::gpu());
  test::check_matmul_sum2(*be, test::op_tolerance::gpu());
}
TEST(CudaBackendOps, Aggregate) {
  TG_CUDA_BACKEND_OR_SKIP(be);
  test::check_aggregate(*be, test::op_tolerance::gpu());
}
TEST(CudaBackendOps, Elementwise) {
  TG_CUDA_BACKEND_OR_SKIP(be);
  test::check_elementwise(*be, test::op_tolerance::gpu());
}
TEST(CudaBackendOps, LossAndAdam) {
  TG_CUDA_BACKEND_OR_SKIP(be);
  test::check_loss_and_adam(*be, test::op_tolerance::gpu());
}
TEST(CudaBackendOps, Attention) {
  TG_CUDA_BACKEND_OR_SKIP(be);
  test::check_attention(*be, test::op_tolerance::gpu());
}
TEST(CudaBackendOps, WithoutADeviceTheBackendIsRefused) {
  if (cuda_device_count() != 0) GTEST_SKIP() << "this machine has a device (the test is for machines without one)";
  EXPECT_THROW(make_backend(device_kind::cuda, 0), cuda_error);
}
