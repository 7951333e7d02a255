// CPU element-wise kernels (see kernels/elementwise.hpp).
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <vector>

#include "kernels/elementwise.hpp"

namespace tg {

namespace {
constexpr std::int64_t kGrain = 1 << 14;
constexpr std::int64_t kRowChunk = 256;
}  // namespace

template <typename T>
void bias_forward(T* y, std::int64_t rows, std::int64_t cols, const T* b) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 64), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i)
      for (std::int64_t j = 0; j < cols; ++j) y[i * cols + j] += b[j];
  });
}

template <typename T>
void bias_backward(const T* dy, std::int64_t rows, std::int64_t cols, T* db) {
  const std::int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<T> partial(static_cast<std::size_t>(chunks * cols), T(0));
  tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t c) {
    T* p = partial.data() + c * cols;
    const std::int64_t end = std::min(rows, (c + 1) * kRowChunk);
    for (std::int64_t i = c * kRowChunk; i < end; ++i)
      for (std::int64_t j = 0; j < cols; ++j) p[j] += dy[i * cols + j];
  });
  std::fill(db, db + cols, T(0));
  for (std::int64_t c = 0; c < chunks; ++c)
    for (std::int64_t j = 0; j < cols; ++j) db[j] += partial[c * cols + j];
}

template <typename T>
void relu_forward(T* x, std::int64_t n) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i) x[i] = x[i] < T(0) ? T(0) : x[i];  // NaN stays NaN
  });
}

template <typename T>
void relu_backward(const T* y, T* dy, std::int64_t n) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i)
      if (!(y[i] > T(0))) dy[i] = T(0);
  });
}

template <typename T>
void dropout_forward(T* x, std::int64_t n, double p, const counter_rng& rng) {
  if (p <= 0) return;
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i)
      x[i] = rng.uniform(static_cast<std::uint64_t>(i)) >= p ? x[i] * scale : T(0);
  });
}

template <typename T>
void dropout_backward(T* dx, std::int64_t n, double p, const counter_rng& rng) {
  dropout_forward(dx, n, p, rng);
}

#define TG_INSTANTIATE(T)                                                         \
  template void bias_forward<T>(T*, std::int64_t, std::int64_t, const T*);        \
  template void bias_backward<T>(const T*, std::int64_t, std::int64_t, T*);       \
  template void relu_forward<T>(T*, std::int64_t);                                \
  template void relu_backward<T>(const T*, T*, std::int64_t);                     \
  template void dropout_forward<T>(T*, std::int64_t, double, const counter_rng&); \
  template void dropout_backward<T>(T*, std::int64_t, double, const counter_rng&);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

}  // namespace tg
