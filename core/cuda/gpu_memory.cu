// CUDA resources (core/gpu_memory.hpp): every runtime call checked, owners free what they hold.
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/cuda/check.cuh"
#include "core/gpu_memory.hpp"

namespace tg::gpu {

namespace {
cudaStream_t as_stream(const stream& s) {
  return static_cast<cudaStream_t>(s.handle());
}
}  // namespace

void set_device(int device) {
  TG_CUDA_TRY(cudaSetDevice(device));
}

int current_device() {
  int d = 0;
  TG_CUDA_TRY(cudaGetDevice(&d));
  return d;
}

device_scope::device_scope(int device) : previous_(current_device()) {
  if (previous_ != device) set_device(device);
}

device_scope::~device_scope() {
  int current = previous_;
  if (cudaGetDevice(&current) == cudaSuccess && current != previous_ && cudaSetDevice(previous_) != cudaSuccess)
    (void)cudaGetLastError();  // a destructor cannot throw; leave no error for a later check
}

memory_info device_memory_info() {
  memory_info m;
  TG_CUDA_TRY(cudaMemGetInfo(&m.free, &m.total));
  return m;
}

void* device_malloc(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t st = cudaMalloc(&p, bytes);
  if (st != cudaSuccess) {
    (void)cudaGetLastError();
    std::size_t free = 0, total = 0;
    (void)cudaMemGetInfo(&free, &total);
    (void)cudaGetLastError();
    throw budget_error("cudaMalloc of " + std::to_string(bytes) + " bytes failed (" + cudaGetErrorString(st) +
                       "); the device has " + std::to_string(free) + " of " + std::to_string(total) + " bytes free");
  }
  return p;
}

void device_free(void* p) noexcept {
  if (p) (void)cudaFree(p);
}

void* pinned_malloc(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  TG_CUDA_TRY(cudaHostAlloc(&p, bytes, cudaHostAllocMapped | cudaHostAllocPortable));
  return p;
}

void pinned_free(void* p) noexcept {
  if (p) (void)cudaFreeHost(p);
}

void* mapped_device_pointer(void* host) {
  void* d = nullptr;
  TG_CUDA_TRY(cudaHostGetDevicePointer(&d, host, 0));
  return d;
}

stream::stream() {
  cudaStream_t s = nullptr;
  TG_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  h_ = s;
}
stream::~stream() {
  if (h_) (void)cudaStreamDestroy(static_cast<cudaStream_t>(h_));
}
void stream::synchronize() const {
  TG_CUDA_TRY(cudaStreamSynchronize(static_cast<cudaStream_t>(h_)));
}

event::event() {
  cudaEvent_t e = nullptr;
  TG_CUDA_TRY(cudaEventCreate(&e));
  h_ = e;
}
event::~event() {
  if (h_) (void)cudaEventDestroy(static_cast<cudaEvent_t>(h_));
}
void event::record(const stream& s) {
  TG_CUDA_TRY(cudaEventRecord(static_cast<cudaEvent_t>(h_), as_stream(s)));
}
void event::record(void* stream_handle) {
  TG_CUDA_TRY(cudaEventRecord(static_cast<cudaEvent_t>(h_), static_cast<cudaStream_t>(stream_handle)));
}
void event::synchronize() const {
  TG_CUDA_TRY(cudaEventSynchronize(static_cast<cudaEvent_t>(h_)));
}
void event::wait_on(const stream& s) const {
  TG_CUDA_TRY(cudaStreamWaitEvent(as_stream(s), static_cast<cudaEvent_t>(h_), 0));
}
float event::elapsed_ms_since(const event& start) const {
  float ms = 0;
  TG_CUDA_TRY(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start.h_), static_cast<cudaEvent_t>(h_)));
  return ms;
}

void copy_async(void* dst, const void* src, std::size_t bytes, const stream& s) {
  if (bytes == 0) return;
  TG_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, as_stream(s)));
}

void memset_async(void* dst, int value, std::size_t bytes, const stream& s) {
  if (bytes == 0) return;
  TG_CUDA_TRY(cudaMemsetAsync(dst, value, bytes, as_stream(s)));
}

host_registration::host_registration(const void* p, std::size_t bytes, bool read_only) : user_(p) {
  if (!p || bytes == 0) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes + page - 1) & ~(page - 1);
  const unsigned flags = cudaHostRegisterMapped | cudaHostRegisterPortable;
  void* base = reinterpret_cast<void*>(start);
  if (read_only && read_only_registration_supported(current_device())) {
    const cudaError_t st = cudaHostRegister(base, end - start, flags | cudaHostRegisterReadOnly);
    if (st == cudaSuccess) {
      base_ = base;
      bytes_ = end - start;
      mode_ = mode_kind::read_only;
      return;
    }
    (void)cudaGetLastError();
    if (st != cudaErrorNotSupported && st != cudaErrorInvalidValue)
      TG_CUDA_TRY(st);  // a real failure (out of memory, ...): report it, do not paper over it
  }
  TG_CUDA_TRY(cudaHostRegister(base, end - start, flags));
  base_ = base;
  bytes_ = end - start;
  mode_ = mode_kind::writable;
}

bool read_only_registration_supported(int device) {
  int v = 0;
  const cudaError_t st = cudaDeviceGetAttribute(&v, cudaDevAttrHostRegisterReadOnlySupported, device);
  if (st != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return v != 0;
}

host_registration::~host_registration() {
  if (base_) (void)cudaHostUnregister(base_);
}

const void* host_registration::device_data() const {
  if (!base_) return nullptr;
  void* d = nullptr;
  TG_CUDA_TRY(cudaHostGetDevicePointer(&d, base_, 0));
  return static_cast<const char*>(d) + (static_cast<const char*>(user_) - static_cast<const char*>(base_));
}

void ipc_handle(const void* device_ptr, void* handle_out) {
  static_assert(sizeof(cudaIpcMemHandle_t) == kIpcHandleBytes, "IPC handle size");
  cudaIpcMemHandle_t h;
  TG_CUDA_TRY(cudaIpcGetMemHandle(&h, const_cast<void*>(device_ptr)));
  std::memcpy(handle_out, &h, sizeof h);
}

void* ipc_open(const void* handle) {
  cudaIpcMemHandle_t h;
  std::memcpy(&h, handle, sizeof h);
  void* p = nullptr;
  TG_CUDA_TRY(cudaIpcOpenMemHandle(&p, h, cudaIpcMemLazyEnablePeerAccess));
  return p;
}

void ipc_close(void* peer_ptr) noexcept {
  if (peer_ptr) (void)cudaIpcCloseMemHandle(peer_ptr);
}

bool can_access_peer(int a, int b) {
  if (a == b) return true;
  int ok = 0;
  TG_CUDA_TRY(cudaDeviceCanAccessPeer(&ok, a, b));
  return ok != 0;
}

namespace {
template <typename F>
double best_gbps(std::size_t bytes, int repeats, const stream& s, F&& copy) {
  event a, b;
  copy();  // warm-up
  s.synchronize();
  float best = 0;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    a.record(s);
    copy();
    b.record(s);
    b.synchronize();
    const float ms = b.elapsed_ms_since(a);
    if (best == 0 || ms < best) best = ms;
  }
  return best > 0 ? static_cast<double>(bytes) / (best * 1e-3) / 1e9 : 0.0;
}
}  // namespace

double measure_h2d_bandwidth(std::size_t bytes, int repeats) {
  stream s;
  pinned_buffer<std::uint8_t> h(bytes);
  std::fill(h.data(), h.data() + bytes, std::uint8_t{1});
  device_buffer<std::uint8_t> d(bytes);
  return best_gbps(bytes, repeats, s, [&] { copy_async(d.data(), h.data(), bytes, s); });
}

double measure_d2d_bandwidth(std::size_t bytes, int repeats) {
  stream s;
  device_buffer<std::uint8_t> a(bytes), b(bytes);
  memset_async(a.data(), 1, bytes, s);
  // A copy reads and writes `bytes` each: report the bytes delivered, as cudaMemcpy benchmarks do.
  return best_gbps(bytes, repeats, s, [&] { copy_async(b.data(), a.data(), bytes, s); });
}

}  // namespace tg::gpu
