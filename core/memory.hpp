#pragma once
// Memory kinds and the owning host buffer. The memory kind is part of a buffer's type so that a
// kernel cannot receive host memory where it expects device memory (the CUDA owners live in
// core/cuda/). host_buffer<T> is move-only, 64-byte aligned and value-initialises nothing.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "core/span.hpp"

namespace tg {

enum class memory_kind { host, pinned, device, disk };

inline std::string_view to_string(memory_kind k) {
  switch (k) {
    case memory_kind::host:
      return "host";
    case memory_kind::pinned:
      return "pinned";
    case memory_kind::device:
      return "device";
    case memory_kind::disk:
      return "disk";
  }
  return "?";
}

template <typename T>
class host_buffer {
 public:
  static constexpr memory_kind kind = memory_kind::host;
  host_buffer() = default;
  explicit host_buffer(std::size_t n) { allocate(n); }
  host_buffer(std::size_t n, const T& value) {
    allocate(n);
    for (std::size_t i = 0; i < n; ++i) data_[i] = value;
  }
  host_buffer(const host_buffer&) = delete;
  host_buffer& operator=(const host_buffer&) = delete;
  host_buffer(host_buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  host_buffer& operator=(host_buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~host_buffer() { release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  span<T> view() { return {data_, size_}; }
  span<const T> view() const { return {data_, size_}; }

 private:
  void allocate(std::size_t n) {
    if (n == 0) return;
    const std::size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
    data_ = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!data_) throw std::bad_alloc();
    size_ = n;
  }
  void release() {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tg
