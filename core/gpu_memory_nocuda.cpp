// core/gpu_memory.hpp in a build without the CUDA backend: nothing can be allocated on a device.
#include "core/error.hpp"
#include "core/gpu_memory.hpp"

namespace tg::gpu {

namespace {
[[noreturn]] void no_cuda() {
  throw cuda_error("this tiergnn was built without the CUDA backend");
}
}  // namespace

void set_device(int) {
  no_cuda();
}
int current_device() {
  no_cuda();
}
device_scope::device_scope(int) {
  no_cuda();
}
device_scope::~device_scope() = default;
memory_info device_memory_info() {
  no_cuda();
}
void* device_malloc(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  no_cuda();
}
void device_free(void*) noexcept {}
void* pinned_malloc(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  no_cuda();
}
void pinned_free(void*) noexcept {}
void* mapped_device_pointer(void*) {
  no_cuda();
}
stream::stream() {
  no_cuda();
}
stream::~stream() = default;
void stream::synchronize() const {
  no_cuda();
}
event::event() {
  no_cuda();
}
event::~event() = default;
void event::record(const stream&) {
  no_cuda();
}
void event::record(void*) {
  no_cuda();
}
void event::synchronize() const {
  no_cuda();
}
void event::wait_on(const stream&) const {
  no_cuda();
}
float event::elapsed_ms_since(const event&) const {
  no_cuda();
}
void copy_async(void*, const void*, std::size_t, const stream&) {
  no_cuda();
}
void memset_async(void*, int, std::size_t, const stream&) {
  no_cuda();
}
host_registration::host_registration(const void* p, std::size_t bytes, bool) : user_(p) {
  if (p && bytes) no_cuda();
}
host_registration::~host_registration() = default;
const void* host_registration::device_data() const {
  return nullptr;
}
bool read_only_registration_supported(int) {
  return false;
}
void ipc_handle(const void*, void*) {
  no_cuda();
}
void* ipc_open(const void*) {
  no_cuda();
}
void ipc_close(void*) noexcept {}
bool can_access_peer(int, int) {
  no_cuda();
}
double measure_h2d_bandwidth(std::size_t, int) {
  no_cuda();
}
double measure_d2d_bandwidth(std::size_t, int) {
  no_cuda();
}

}  // namespace tg::gpu
