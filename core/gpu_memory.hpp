#pragma once
// CUDA resources for g++-compiled code (no CUDA headers here): device selection, streams, events,
// and move-only owners for device buffers, mapped pinned host buffers and registrations of existing
// host memory (a memory-mapped features file included). The memory kind is part of each owner's
// type (core/memory.hpp), so device code cannot be handed plain host memory by mistake.
//
// Every runtime call is checked and throws cuda_error naming the call (core/cuda/gpu_memory.cu).
// In a build without the CUDA backend (core/gpu_memory_nocuda.cpp) every function that would need
// a device throws cuda_error("built without the CUDA backend").
#include <cstddef>
#include <cstdint>
#include <utility>

#include "core/memory.hpp"

namespace tg::gpu {

// Selects the device for this thread (cudaSetDevice).
void set_device(int device);
int current_device();

// Makes `device` current on the calling thread for the scope's lifetime and restores the caller's
// device afterwards. The current device is per thread and belongs to the caller (PyTorch keeps its
// own in it), so every object that owns device resources creates and uses them inside one of these.
class device_scope {
 public:
  explicit device_scope(int device);
  ~device_scope();
  device_scope(const device_scope&) = delete;
  device_scope& operator=(const device_scope&) = delete;

 private:
  int previous_ = -1;
};

// Bytes to allocate for a buffer that vectorised kernels read in 16-byte chunks: `bytes` rounded
// up to a multiple of 16, so the last chunk of the last row never leaves the allocation (the
// tiered gather reads whole chunks of rows whose size is not a multiple of 16).
constexpr std::size_t padded_bytes(std::size_t bytes) {
  return (bytes + 15) / 16 * 16;
}

struct memory_info {
  std::size_t free = 0, total = 0;
};
// cudaMemGetInfo of the current device.
memory_info device_memory_info();

// Raw, checked allocation (the owners below use these). Zero bytes allocate nothing.
void* device_malloc(std::size_t bytes);
void device_free(void* p) noexcept;
void* pinned_malloc(std::size_t bytes);  // cudaHostAlloc(mapped | portable)
void pinned_free(void* p) noexcept;
void* mapped_device_pointer(void* host);  // the device address of mapped/registered host memory

// A non-blocking stream (never the legacy default stream).
class stream {
 public:
  stream();
  ~stream();
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  stream(stream&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  stream& operator=(stream&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  void* handle() const { return h_; }  // a cudaStream_t
  void synchronize() const;

 private:
  void* h_ = nullptr;
};

// An event with timing enabled.
class event {
 public:
  event();
  ~event();
  event(const event&) = delete;
  event& operator=(const event&) = delete;
  event(event&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  event& operator=(event&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  void* handle() const { return h_; }
  void record(const stream& s);
  void record(void* stream_handle);  // a cudaStream_t owned elsewhere (a backend's)
  void synchronize() const;
  void wait_on(const stream& s) const;  // s waits for this event
  float elapsed_ms_since(const event& start) const;

 private:
  void* h_ = nullptr;
};

// Asynchronous copies on a stream (cudaMemcpyDefault: direction from the pointers, UVA).
void copy_async(void* dst, const void* src, std::size_t bytes, const stream& s);
void memset_async(void* dst, int value, std::size_t bytes, const stream& s);

template <typename T>
class device_buffer {
 public:
  static constexpr memory_kind kind = memory_kind::device;
  device_buffer() = default;
  explicit device_buffer(std::size_t n) : p_(static_cast<T*>(device_malloc(n * sizeof(T)))), n_(n) {}
  ~device_buffer() { device_free(p_); }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  std::size_t size() const { return n_; }
  std::size_t bytes() const { return n_ * sizeof(T); }
  // Grows (never shrinks) to at least n elements; contents are not kept.
  void reserve(std::size_t n) {
    if (n > n_) *this = device_buffer(n + n / 2);
  }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

// Page-locked host memory mapped into the device address space: the host writes data(), kernels
// read device_data() over PCIe/NVLink (zero-copy).
template <typename T>
class pinned_buffer {
 public:
  static constexpr memory_kind kind = memory_kind::pinned;
  pinned_buffer() = default;
  explicit pinned_buffer(std::size_t n) : p_(static_cast<T*>(pinned_malloc(n * sizeof(T)))), n_(n) {}
  ~pinned_buffer() { pinned_free(p_); }
  pinned_buffer(const pinned_buffer&) = delete;
  pinned_buffer& operator=(const pinned_buffer&) = delete;
  pinned_buffer(pinned_buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  pinned_buffer& operator=(pinned_buffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  const T* device_data() const {
    return p_ ? static_cast<const T*>(mapped_device_pointer(const_cast<T*>(p_))) : nullptr;
  }
  std::size_t size() const { return n_; }
  std::size_t bytes() const { return n_ * sizeof(T); }
  void reserve(std::size_t n) {
    if (n > n_) *this = pinned_buffer(n + n / 2);
  }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

// Pins and maps an existing host range (cudaHostRegister), e.g. the features of a memory-mapped
// file, for zero-copy reads by kernels; unregisters on destruction. The range is widened to whole
// pages. With read_only, the range is registered with cudaHostRegisterReadOnly where the device
// supports it (cudaDevAttrHostRegisterReadOnlySupported), so pinning a copy-on-write file mapping
// does not copy its pages; where it does not, or the driver refuses the flag, the range is
// registered writable, which pins a private copy of each page of a copy-on-write mapping (the same
// memory as a pinned copy of the rows). mode() says which was used.
class host_registration {
 public:
  static constexpr memory_kind kind = memory_kind::pinned;
  enum class mode_kind { none, read_only, writable };
  host_registration() = default;
  // Registers on the current device's context (use a device_scope).
  host_registration(const void* p, std::size_t bytes, bool read_only = true);
  ~host_registration();
  host_registration(const host_registration&) = delete;
  host_registration& operator=(const host_registration&) = delete;
  host_registration(host_registration&& o) noexcept
      : base_(std::exchange(o.base_, nullptr)),
        user_(std::exchange(o.user_, nullptr)),
        bytes_(std::exchange(o.bytes_, 0)),
        mode_(std::exchange(o.mode_, mode_kind::none)) {}
  host_registration& operator=(host_registration&& o) noexcept {
    std::swap(base_, o.base_);
    std::swap(user_, o.user_);
    std::swap(bytes_, o.bytes_);
    std::swap(mode_, o.mode_);
    return *this;
  }
  // Device address of the registered pointer passed to the constructor.
  const void* device_data() const;
  mode_kind mode() const { return mode_; }

 private:
  void* base_ = nullptr;        // page-aligned start that was registered
  const void* user_ = nullptr;  // the pointer the caller gave
  std::size_t bytes_ = 0;
  mode_kind mode_ = mode_kind::none;
};

// Whether `device` can register host memory read-only (cudaDevAttrHostRegisterReadOnlySupported).
bool read_only_registration_supported(int device);

// CUDA IPC, for reading another process's device memory (the striped band of a GPU in the same
// peer-to-peer clique): a 64-byte handle of a cudaMalloc'ed pointer, and the opened peer pointer.
inline constexpr std::size_t kIpcHandleBytes = 64;
void ipc_handle(const void* device_ptr, void* handle_out);  // kIpcHandleBytes bytes
void* ipc_open(const void* handle);                         // device pointer into the peer's allocation
void ipc_close(void* peer_ptr) noexcept;
// Whether device a can read device b's memory directly (cudaDeviceCanAccessPeer; a == b: true).
bool can_access_peer(int a, int b);

// Bandwidth ceilings for bench/gpu_check.sh, in GB/s (1e9 bytes): pinned host -> device
// cudaMemcpyAsync, and device -> device copy, each of `bytes`, best of `repeats`.
double measure_h2d_bandwidth(std::size_t bytes, int repeats);
double measure_d2d_bandwidth(std::size_t bytes, int repeats);

}  // namespace tg::gpu
