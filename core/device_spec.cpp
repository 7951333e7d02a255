// Device names as users write them (core/device.hpp).
#include <string>

#include "core/device.hpp"
#include "core/error.hpp"

namespace tg {

int parse_device_spec(const std::string& spec, const std::string& what) {
  if (spec == "cpu") return -1;
  if (spec == "cuda") return 0;
  if (spec.rfind("cuda:", 0) == 0 && spec.size() > 5 && spec.size() <= 5 + 4) {
    int id = 0;
    for (std::size_t i = 5; i < spec.size(); ++i) {
      if (spec[i] < '0' || spec[i] > '9') {
        id = -1;
        break;
      }
      id = id * 10 + (spec[i] - '0');
    }
    if (id >= 0) return id;
  }
  throw input_error(what + ": unknown device \"" + (spec.size() > 40 ? spec.substr(0, 40) + "..." : spec) +
                    "\": use cpu, cuda or cuda:N (N = 0, 1, ...)");
}

}  // namespace tg
