#pragma once
// Device probe, callable from g++-compiled code. Any CUDA error (no driver, no device, a build
// without CUDA) means "zero devices", so callers and GPU tests can skip cleanly.
#include <string>

namespace tg {

// True when this build has the CUDA backend compiled in.
bool cuda_compiled();
// Number of usable CUDA devices; 0 on any error.
int cuda_device_count();
// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" for device `dev`, or "" when there is none.
std::string cuda_device_name(int dev = 0);
// "cpu" -> -1, "cuda" -> 0, "cuda:N" -> N (up to four digits); anything else throws input_error
// naming `what` (the option or parameter the spec came from). Whether device N exists is checked
// where it is used.
int parse_device_spec(const std::string& spec, const std::string& what);

// Runs one checked kernel (y = a*x + y on n floats) on device 0 and compares with the host result;
// returns the largest absolute error. Throws cuda_error if there is no device or a call fails.
double cuda_smoke_test(int n);

}  // namespace tg
