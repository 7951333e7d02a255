// CPU graph-attention kernels (see kernels/attention.hpp): parallel over rows, each output element
// summed in a fixed order.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/attention.hpp"

namespace tg {

namespace {
constexpr std::int64_t kRowChunk = 256;
constexpr std::int64_t kGrain = 1 << 14;

template <typename T>
T leaky(T z, T slope) {
  return z > T(0) ? z : slope * z;
}
}  // namespace

template <typename T>
void head_dot(std::int64_t rows, std::int64_t heads, std::int64_t width, const T* x, const T* att, T* y) {
  const std::int64_t hw = heads * width;
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 64), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i)
      for (std::int64_t k = 0; k < heads; ++k) {
        const T* xr = x + i * hw + k * width;
        const T* a = att + k * width;
        T s = T(0);
        for (std::int64_t c = 0; c < width; ++c) s += xr[c] * a[c];
        y[i * heads + k] = s;
      }
  });
}

template <typename T>
void head_dot_backward(std::int64_t rows, std::int64_t heads, std::int64_t width, const T* x, const T* att, const T* dy,
                       T* dx, T* datt) {
  const std::int64_t hw = heads * width;
  if (dx) {
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 64), [&](const auto& r) {
      for (std::int64_t i = r.begin(); i < r.end(); ++i)
        for (std::int64_t k = 0; k < heads; ++k) {
          const T g = dy[i * heads + k];
          T* d = dx + i * hw + k * width;
          const T* a = att + k * width;
          for (std::int64_t c = 0; c < width; ++c) d[c] += g * a[c];
        }
    });
  }
  // Column sums in fixed row chunks, then the chunks in order (as bias_backward).
  const std::int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<T> partial(static_cast<std::size_t>(chunks * hw), T(0));
  tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t ch) {
    T* p = partial.data() + ch * hw;
    const std::int64_t end = std::min(rows, (ch + 1) * kRowChunk);
    for (std::int64_t i = ch * kRowChunk; i < end; ++i)
      for (std::int64_t k = 0; k < heads; ++k) {
        const T g = dy[i * heads + k];
        const T* xr = x + i * hw + k * width;
        for (std::int64_t c = 0; c < width; ++c) p[k * width + c] += g * xr[c];
      }
  });
  std::fill(datt, datt + hw, T(0));
  for (std::int64_t ch = 0; ch < chunks; ++ch)
    for (std::int64_t j = 0; j < hw; ++j) datt[j] += partial[ch * hw + j];
}

template <typename T>
void edge_softmax(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices, std::int64_t heads,
                  const T* a_src, const T* a_dst, T slope, T* alpha) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, num_dst, 32), [&](const auto& r) {
    for (std::int64_t v = r.begin(); v < r.end(); ++v) {
      const std::int64_t b = indptr[v], e = indptr[v + 1];
      if (b == e) continue;
      for (std::int64_t k = 0; k < heads; ++k) {
        const T dv = a_dst[v * heads + k];
        T mx = -std::numeric_limits<T>::infinity();
        for (std::int64_t p = b; p < e; ++p) {
          const T z = leaky(a_src[static_cast<std::int64_t>(indices[p]) * heads + k] + dv, slope);
          alpha[p * heads + k] = z;
          mx = std::max(mx, z);
        }
        T sum = T(0);
        for (std::int64_t p = b; p < e; ++p) {
          const T ez = std::exp(alpha[p * heads + k] - mx);
          alpha[p * heads + k] = ez;
          sum += ez;
        }
        const T inv = T(1) / sum;
        for (std::int64_t p = b; p < e; ++p) alpha[p * heads + k] *= inv;
      }
    }
  });
}

template <typename T>
void edge_softmax_backward(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices,
                           std::int64_t heads, const T* a_src, const T* a_dst, T slope, const T* alpha, const T* dalpha,
                           T* ds) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, num_dst, 32), [&](const auto& r) {
    for (std::int64_t v = r.begin(); v < r.end(); ++v) {
      const std::int64_t b = indptr[v], e = indptr[v + 1];
      for (std::int64_t k = 0; k < heads; ++k) {
        T dot = T(0);
        for (std::int64_t p = b; p < e; ++p) dot += alpha[p * heads + k] * dalpha[p * heads + k];
        const T dv = a_dst[v * heads + k];
        for (std::int64_t p = b; p < e; ++p) {
          const T z = a_src[static_cast<std::int64_t>(indices[p]) * heads + k] + dv;
          ds[p * heads + k] = (z > T(0) ? T(1) : slope) * alpha[p * heads + k] * (dalpha[p * heads + k] - dot);
        }
      }
    }
  });
}

template <typename T>
void aggregate_heads(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices,
                     const std::int32_t* edge_ids, std::int64_t heads, std::int64_t width, const T* w, const T* x,
                     T* y) {
  const std::int64_t hw = heads * width;
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, num_dst, 32), [&](const auto& r) {
    for (std::int64_t v = r.begin(); v < r.end(); ++v) {
      T* out = y + v * hw;
      std::fill(out, out + hw, T(0));
      for (std::int64_t p = indptr[v]; p < indptr[v + 1]; ++p) {
        const std::int64_t id = edge_ids ? edge_ids[p] : p;
        const T* in = x + static_cast<std::int64_t>(indices[p]) * hw;
        for (std::int64_t k = 0; k < heads; ++k) {
          const T a = w[id * heads + k];
          for (std::int64_t c = 0; c < width; ++c) out[k * width + c] += a * in[k * width + c];
        }
      }
    }
  });
}

template <typename T>
void edge_dot(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices, std::int64_t heads,
              std::int64_t width, const T* dy, const T* x, T* out) {
  const std::int64_t hw = heads * width;
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, num_dst, 32), [&](const auto& r) {
    for (std::int64_t v = r.begin(); v < r.end(); ++v) {
      const T* g = dy + v * hw;
      for (std::int64_t p = indptr[v]; p < indptr[v + 1]; ++p) {
        const T* in = x + static_cast<std::int64_t>(indices[p]) * hw;
        for (std::int64_t k = 0; k < heads; ++k) {
          T s = T(0);
          for (std::int64_t c = 0; c < width; ++c) s += g[k * width + c] * in[k * width + c];
          out[p * heads + k] = s;
        }
      }
    }
  });
}

template <typename T>
void edge_sum(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* edge_ids, std::int64_t heads,
              const T* values, T* y) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, num_dst, 64), [&](const auto& r) {
    for (std::int64_t v = r.begin(); v < r.end(); ++v)
      for (std::int64_t k = 0; k < heads; ++k) {
        T s = T(0);
        for (std::int64_t p = indptr[v]; p < indptr[v + 1]; ++p)
          s += values[(edge_ids ? static_cast<std::int64_t>(edge_ids[p]) : p) * heads + k];
        y[v * heads + k] = s;
      }
  });
}

template <typename T>
void elu_forward(T* x, std::int64_t n) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i)
      if (x[i] <= T(0)) x[i] = std::expm1(x[i]);  // NaN stays NaN
  });
}

template <typename T>
void elu_backward(const T* y, T* dy, std::int64_t n) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i)
      if (!(y[i] > T(0))) dy[i] *= y[i] + T(1);
  });
}

#define TG_INSTANTIATE(T)                                                                                             \
  template void head_dot<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const T*, T*);                        \
  template void head_dot_backward<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const T*, const T*, T*, T*); \
  template void edge_softmax<T>(std::int64_t, const std::int64_t*, const std::int32_t*, std::int64_t, const T*,       \
                                const T*, T, T*);                                                                     \
  template void edge_softmax_backward<T>(std::int64_t, const std::int64_t*, const std::int32_t*, std::int64_t,        \
                                         const T*, const T*, T, const T*, const T*, T*);                              \
  template void aggregate_heads<T>(std::int64_t, const std::int64_t*, const std::int32_t*, const std::int32_t*,       \
                                   std::int64_t, std::int64_t, const T*, const T*, T*);                               \
  template void edge_dot<T>(std::int64_t, const std::int64_t*, const std::int32_t*, std::int64_t, std::int64_t,       \
                            const T*, const T*, T*);                                                                  \
  template void edge_sum<T>(std::int64_t, const std::int64_t*, const std::int32_t*, std::int64_t, const T*, T*);      \
  template void elu_forward<T>(T*, std::int64_t);                                                                     \
  template void elu_backward<T>(const T*, T*, std::int64_t);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

}  // namespace tg
