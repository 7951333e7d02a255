// Device probe for builds without the CUDA backend: there are never any devices.
#include "core/device.hpp"
#include "core/error.hpp"

namespace tg {
bool cuda_compiled() {
  return false;
}
int cuda_device_count() {
  return 0;
}
std::string cuda_device_name(int) {
  return "";
}
double cuda_smoke_test(int) {
  throw cuda_error("this tiergnn was built without the CUDA backend");
}
}  // namespace tg
