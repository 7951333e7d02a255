#pragma once
// Non-owning views: tg::span<T> (C++17 has no std::span). Usable on host and device.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/hd.hpp"

namespace tg {

template <typename T>
class span {
 public:
  using element_type = T;
  span() = default;
  TG_HD span(T* data, std::size_t size) : data_(data), size_(size) {}
  template <typename U, typename A>
  span(std::vector<U, A>& v) : data_(v.data()), size_(v.size()) {}  // NOLINT: implicit by design
  template <typename U, typename A>
  span(const std::vector<U, A>& v) : data_(v.data()), size_(v.size()) {}  // NOLINT
  template <typename U>
  TG_HD span(const span<U>& o) : data_(o.data()), size_(o.size()) {}  // NOLINT: T* from U*

  TG_HD T* data() const { return data_; }
  TG_HD std::size_t size() const { return size_; }
  TG_HD bool empty() const { return size_ == 0; }
  TG_HD T& operator[](std::size_t i) const { return data_[i]; }
  TG_HD T* begin() const { return data_; }
  TG_HD T* end() const { return data_ + size_; }
  TG_HD span subspan(std::size_t offset, std::size_t count) const { return span(data_ + offset, count); }
  TG_HD std::size_t size_bytes() const { return size_ * sizeof(T); }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tg
