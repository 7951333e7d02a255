// Device names as users write them (--device, FeatureStore(device=...)): parsed the same way
// everywhere, and anything else refused with a message that names the option.
#include <gtest/gtest.h>

#include <string>

#include "core/device.hpp"
#include "core/error.hpp"

using namespace tg;

TEST(DeviceSpec, CpuCudaAndCudaN) {
  EXPECT_EQ(parse_device_spec("cpu", "--device"), -1);
  EXPECT_EQ(parse_device_spec("cuda", "--device"), 0);
  EXPECT_EQ(parse_device_spec("cuda:0", "--device"), 0);
  EXPECT_EQ(parse_device_spec("cuda:3", "--device"), 3);
  EXPECT_EQ(parse_device_spec("cuda:12", "--device"), 12);
}

TEST(DeviceSpec, EverythingElseIsRefusedNamingTheOption) {
  for (const char* bad : {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:1x", "cuda: 1", "cuda:99999", "cuda:+1",
                          "cuda:1.0", "cpu:0", " cuda"}) {
    try {
      parse_device_spec(bad, "feature store");
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const input_error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("feature store"), std::string::npos) << m;
      EXPECT_NE(m.find("cuda:N"), std::string::npos) << m;
    }
  }
}
