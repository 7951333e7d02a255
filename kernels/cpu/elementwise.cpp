// CPU element-wise kernels (see kernels/elementwise.hpp).
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/rng_bulk.hpp"
#include "kernels/elementwise.hpp"

namespace tg {

namespace {
constexpr std::int64_t kGrain = 1 << 14;
constexpr std::int64_t kRowChunk = 256;
constexpr int kLanes = 16;  // Philox blocks computed together

// v where keep, else +0, with an AND of the bit patterns instead of a branch (GCC keeps a branch for
// the plain ?:, and the loop then runs one element at a time).
template <typename T>
inline T masked(T v, bool keep) {
  using bits_t = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  bits_t b;
  std::memcpy(&b, &v, sizeof b);
  b &= static_cast<bits_t>(0) - static_cast<bits_t>(keep);
  std::memcpy(&v, &b, sizeof b);
  return v;
}

}  // namespace

namespace {

// Dropout of one group of kPerGroup = 8 kLanes elements (m of them; fewer at the end) from its
// kLanes Philox blocks w: element k keeps its value times sc when its 16-bit draw is >= th.
constexpr std::int64_t kPerGroup = 8 * kLanes;
template <typename T>
inline void drop_group(T* xs, std::int64_t m, const std::uint32_t* w, T sc, std::uint32_t th) {
  if (m == kPerGroup) {
    for (std::int64_t q = 0; q < 4 * kLanes; ++q) {
      xs[2 * q] = masked(xs[2 * q] * sc, (w[q] & 0xFFFFu) >= th);
      xs[2 * q + 1] = masked(xs[2 * q + 1] * sc, (w[q] >> 16) >= th);
    }
  } else {
    for (std::int64_t k = 0; k < m; ++k) xs[k] = masked(xs[k] * sc, ((w[k >> 1] >> (16 * (k & 1))) & 0xFFFFu) >= th);
  }
}
}  // namespace

template <typename T>
void bias_forward(T* y, std::int64_t rows, std::int64_t cols, const T* b) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 64), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i)
      for (std::int64_t j = 0; j < cols; ++j) y[i * cols + j] += b[j];
  });
}

namespace {
// db = column sums in a fixed order, independent of the thread count: fixed chunks of kRowChunk
// rows summed in parallel (add_row(i, p) adds row i into the chunk's partial sums p), then the
// partials added in chunk order.
template <typename T, typename AddRow>
void chunked_column_sums(std::int64_t rows, std::int64_t cols, T* db, const AddRow& add_row) {
  const std::int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<T> partial(static_cast<std::size_t>(chunks * cols), T(0));
  tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t c) {
    T* p = partial.data() + c * cols;
    const std::int64_t end = std::min(rows, (c + 1) * kRowChunk);
    for (std::int64_t i = c * kRowChunk; i < end; ++i) add_row(i, p);
  });
  std::fill(db, db + cols, T(0));
  for (std::int64_t c = 0; c < chunks; ++c)
    for (std::int64_t j = 0; j < cols; ++j) db[j] += partial[c * cols + j];
}
}  // namespace

template <typename T>
void bias_backward(const T* dy, std::int64_t rows, std::int64_t cols, T* db) {
  chunked_column_sums(rows, cols, db, [&](std::int64_t i, T* p) {
    for (std::int64_t j = 0; j < cols; ++j) p[j] += dy[i * cols + j];
  });
}

template <typename T>
void relu_forward(T* x, std::int64_t n) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i) x[i] = masked(x[i], !(x[i] < T(0)));  // NaN stays NaN
  });
}

template <typename T>
void relu_backward(const T* y, T* dy, std::int64_t n, T scale) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const auto& r) {
    if (scale == T(1)) {
      for (std::int64_t i = r.begin(); i < r.end(); ++i) dy[i] = masked(dy[i], y[i] > T(0));
    } else {
      const T sc = scale;
      for (std::int64_t i = r.begin(); i < r.end(); ++i) dy[i] = masked(dy[i] * sc, y[i] > T(0));
    }
  });
}

template <typename T>
void dropout_forward(T* x, std::int64_t n, double p, const counter_rng& rng) {
  if (p <= 0) return;
  const T scale = static_cast<T>(dropout_scale(p));
  const std::uint32_t threshold = dropout_threshold(p);
  // One Philox block per eight elements (two 16-bit draws per word, dropout_draw), kLanes blocks at
  // a time, in fixed chunks.
  const std::int64_t groups = (n + kPerGroup - 1) / kPerGroup;
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, groups, kGrain / kPerGroup), [&](const auto& r) {
    std::uint32_t w[4 * kLanes];
    for (std::int64_t gi = r.begin(); gi < r.end(); ++gi) {
      philox16(rng, static_cast<std::uint64_t>(gi * kLanes), w);
      const std::int64_t i0 = gi * kPerGroup, m = std::min<std::int64_t>(kPerGroup, n - i0);
      T* xs = x + i0;
      drop_group(xs, m, w, scale, threshold);
    }
  });
}

template <typename T>
void dropout_backward(T* dx, std::int64_t n, double p, const counter_rng& rng) {
  dropout_forward(dx, n, p, rng);
}

template <typename T>
void bias_relu_dropout(T* y, std::int64_t rows, std::int64_t cols, const T* b, double p, const counter_rng& rng) {
  const std::int64_t n = rows * cols;
  if (n <= 0) return;
  const bool drop = p > 0;
  const T scale = drop ? static_cast<T>(dropout_scale(p)) : T(1);
  const std::uint32_t threshold = drop ? dropout_threshold(p) : 0;
  // The groups of dropout_forward (kLanes Philox blocks, eight elements each), so the draws match.
  const std::int64_t groups = (n + kPerGroup - 1) / kPerGroup;
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, groups, kGrain / kPerGroup), [&](const auto& r) {
    std::uint32_t w[4 * kLanes];
    for (std::int64_t gi = r.begin(); gi < r.end(); ++gi) {
      const std::int64_t i0 = gi * kPerGroup, m = std::min<std::int64_t>(kPerGroup, n - i0);
      T* xs = y + i0;
      const std::int64_t j0 = i0 % cols;
      if (j0 + m <= cols) {  // one row's stretch of columns (every group when cols is a multiple of 128)
        const T* bj = b + j0;
        for (std::int64_t k = 0; k < m; ++k) {
          const T v = xs[k] + bj[k];
          xs[k] = masked(v, !(v < T(0)));
        }
      } else {
        std::int64_t j = j0;
        for (std::int64_t k = 0; k < m; ++k) {
          const T v = xs[k] + b[j];
          xs[k] = masked(v, !(v < T(0)));
          if (++j == cols) j = 0;
        }
      }
      if (!drop) continue;
      philox16(rng, static_cast<std::uint64_t>(gi * kLanes), w);
      drop_group(xs, m, w, scale, threshold);
    }
  });
}

template <typename T>
void relu_bias_backward(const T* y, T* dy, std::int64_t rows, std::int64_t cols, T scale, T* db) {
  // bias_backward's chunks and order of sums, with relu_backward's per-element result in the same pass.
  const T sc = scale;
  chunked_column_sums(rows, cols, db, [&](std::int64_t i, T* p) {
    T* d = dy + i * cols;
    const T* yi = y + i * cols;
    if (sc == T(1)) {
      for (std::int64_t j = 0; j < cols; ++j) {
        d[j] = masked(d[j], yi[j] > T(0));
        p[j] += d[j];
      }
    } else {
      for (std::int64_t j = 0; j < cols; ++j) {
        d[j] = masked(d[j] * sc, yi[j] > T(0));
        p[j] += d[j];
      }
    }
  });
}

#define TG_INSTANTIATE(T)                                                                                   \
  template void bias_forward<T>(T*, std::int64_t, std::int64_t, const T*);                                  \
  template void bias_backward<T>(const T*, std::int64_t, std::int64_t, T*);                                 \
  template void relu_forward<T>(T*, std::int64_t);                                                          \
  template void relu_backward<T>(const T*, T*, std::int64_t, T);                                            \
  template void dropout_forward<T>(T*, std::int64_t, double, const counter_rng&);                           \
  template void dropout_backward<T>(T*, std::int64_t, double, const counter_rng&);                          \
  template void bias_relu_dropout<T>(T*, std::int64_t, std::int64_t, const T*, double, const counter_rng&); \
  template void relu_bias_backward<T>(const T*, T*, std::int64_t, std::int64_t, T, T*);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

}  // namespace tg
