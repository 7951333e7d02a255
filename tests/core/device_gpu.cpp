#include <gtest/gtest.h>

#include "core/device.hpp"

// Label gpu: skips visibly when this machine has no usable CUDA device (or no CUDA backend).
TEST(CudaDevice, SmokeKernelMatchesHost) {
  if (tg::cuda_device_count() == 0)
    GTEST_SKIP() << (tg::cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend");
  std::printf("device: %s\n", tg::cuda_device_name(0).c_str());
  EXPECT_EQ(tg::cuda_smoke_test(1 << 20), 0.0);
  EXPECT_EQ(tg::cuda_smoke_test(0), 0.0);  // empty launch is skipped, not an error
}

TEST(CudaDevice, ProbeNeverThrows) {
  EXPECT_NO_THROW(tg::cuda_device_count());
  EXPECT_GE(tg::cuda_device_count(), 0);
}

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "core/mmap_file.hpp"
#include "test_util.hpp"

namespace {
#define TG_SKIP_WITHOUT_GPU()       \
  if (tg::cuda_device_count() == 0) \
  GTEST_SKIP() << (tg::cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend")
}  // namespace

TEST(CudaMemory, WithoutADeviceEveryAllocationFailsCleanly) {
  if (tg::cuda_device_count() != 0) GTEST_SKIP() << "this machine has a device (the test is for machines without one)";
  EXPECT_THROW(tg::gpu::device_buffer<float>(16), tg::error);
  EXPECT_THROW(tg::gpu::pinned_buffer<float>(16), tg::error);
  EXPECT_THROW(tg::gpu::stream(), tg::error);
  EXPECT_NO_THROW(tg::gpu::device_buffer<float>(0));  // nothing to allocate
}

TEST(CudaMemory, BuffersStreamsAndEventsRoundTrip) {
  TG_SKIP_WITHOUT_GPU();
  tg::gpu::stream s;
  std::vector<int> host(1 << 20);
  std::iota(host.begin(), host.end(), 7);
  tg::gpu::pinned_buffer<int> pin(host.size());
  std::memcpy(pin.data(), host.data(), host.size() * sizeof(int));
  tg::gpu::device_buffer<int> dev(host.size());
  tg::gpu::event a, b;
  a.record(s);
  tg::gpu::copy_async(dev.data(), pin.data(), host.size() * sizeof(int), s);
  tg::gpu::device_buffer<int> moved = std::move(dev);  // owners move; the source is left empty
  EXPECT_EQ(dev.data(), nullptr);
  std::vector<int> back(host.size());
  tg::gpu::copy_async(back.data(), moved.data(), host.size() * sizeof(int), s);
  b.record(s);
  b.synchronize();
  EXPECT_EQ(back, host);
  EXPECT_GE(b.elapsed_ms_since(a), 0.0f);
  EXPECT_NE(pin.device_data(), nullptr);
  const auto mem = tg::gpu::device_memory_info();
  EXPECT_GT(mem.total, 0u);
  EXPECT_LE(mem.free, mem.total);
}

TEST(CudaMemory, RegisteredMappedFileIsReadableByTheDevice) {
  TG_SKIP_WITHOUT_GPU();
  tg::test::scratch_dir d;
  std::vector<std::uint8_t> bytes(3 * 4096 + 123);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 31 + 5);
  tg::test::write_text(d / "blob", std::string(bytes.begin(), bytes.end()));
  const tg::mmap_file f = tg::mmap_file::open(d / "blob");
  // An unaligned sub-range of a read-only (copy-on-write) file mapping, registered read-only in place.
  const std::size_t off = 1000, len = bytes.size() - off - 7;
  tg::gpu::host_registration reg(f.data() + off, len, true);
  ASSERT_NE(reg.device_data(), nullptr);
  tg::gpu::stream s;
  tg::gpu::device_buffer<std::uint8_t> dev(len);
  tg::gpu::copy_async(dev.data(), reg.device_data(), len, s);
  std::vector<std::uint8_t> back(len);
  tg::gpu::copy_async(back.data(), dev.data(), len, s);
  s.synchronize();
  EXPECT_EQ(0, std::memcmp(back.data(), bytes.data() + off, len));
}

// The ceilings are measured in bench/gpu_check.sh; here only that the measurement runs and yields
// a number (no speed is a pass/fail condition in a test).
TEST(CudaMemory, BandwidthMeasurementsRun) {
  TG_SKIP_WITHOUT_GPU();
  const double h2d = tg::gpu::measure_h2d_bandwidth(16 << 20, 2), d2d = tg::gpu::measure_d2d_bandwidth(16 << 20, 2);
  EXPECT_TRUE(std::isfinite(h2d) && h2d > 0) << h2d;
  EXPECT_TRUE(std::isfinite(d2d) && d2d > 0) << d2d;
}

TEST(CudaMemory, DeviceScopeRestoresTheCallersDevice) {
  TG_SKIP_WITHOUT_GPU();
  const int last = tg::cuda_device_count() - 1;
  tg::gpu::set_device(0);
  {
    const tg::gpu::device_scope on(last);
    EXPECT_EQ(last, tg::gpu::current_device());
  }
  EXPECT_EQ(0, tg::gpu::current_device());
}

TEST(CudaMemory, ReadOnlyRegistrationOrItsFallback) {
  TG_SKIP_WITHOUT_GPU();
  // A read-only, copy-on-write page range, as the features file is mapped.
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* p = ::mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 7, 4 * page);
  {
    const tg::gpu::host_registration r(static_cast<char*>(p) + 100, 3 * page, true);
    const bool ro = tg::gpu::read_only_registration_supported(tg::gpu::current_device());
    EXPECT_EQ(ro ? tg::gpu::host_registration::mode_kind::read_only : tg::gpu::host_registration::mode_kind::writable,
              r.mode());
    EXPECT_NE(r.device_data(), nullptr);
    tg::gpu::stream s;
    std::vector<char> back(64);
    tg::gpu::copy_async(back.data(), r.device_data(), back.size(), s);
    s.synchronize();
    EXPECT_EQ(back, std::vector<char>(64, 7));
  }
  ::munmap(p, 4 * page);
}
