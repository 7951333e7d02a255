// CPU aggregation over block CSR (see kernels/aggregate.hpp): parallel over destination rows.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/error.hpp"
#include "kernels/aggregate.hpp"

namespace tg {

template <typename T>
agg_graph<T> make_agg_graph(aggregator kind, std::int64_t num_dst, std::int64_t num_src, const std::int64_t* indptr,
                            const std::int32_t* indices, const std::int64_t* src_degree) {
  agg_graph<T> g;
  g.num_dst = num_dst;
  g.num_src = num_src;
  const std::int64_t ne = indptr[num_dst];
  if (kind != aggregator::gcn && kind != aggregator::attention) {
    g.indptr.assign(indptr, indptr + num_dst + 1);
    g.indices.assign(indices, indices + ne);
    if (kind == aggregator::mean) {
      g.weights.resize(static_cast<std::size_t>(ne));
      for (std::int64_t v = 0; v < num_dst; ++v) {
        const std::int64_t d = indptr[v + 1] - indptr[v];
        for (std::int64_t e = indptr[v]; e < indptr[v + 1]; ++e) g.weights[e] = T(1) / static_cast<T>(d);
      }
    }
    return g;
  }
  TG_EXPECTS(num_src >= num_dst, "block has fewer sources than destinations");
  g.indptr.resize(static_cast<std::size_t>(num_dst) + 1);
  g.indices.resize(static_cast<std::size_t>(ne + num_dst));
  g.indptr[0] = 0;
  std::vector<std::int64_t> out_deg(static_cast<std::size_t>(num_src), 0);
  for (std::int64_t v = 0; v < num_dst; ++v) {
    std::int64_t p = g.indptr[v];
    g.indices[p++] = static_cast<std::int32_t>(v);
    ++out_deg[v];
    for (std::int64_t e = indptr[v]; e < indptr[v + 1]; ++e) {
      if (indices[e] == v) continue;  // an existing self-loop is represented once
      g.indices[p++] = indices[e];
      ++out_deg[indices[e]];
    }
    g.indptr[v + 1] = p;
  }
  g.indices.resize(static_cast<std::size_t>(g.indptr[num_dst]));
  if (kind == aggregator::attention) return g;
  g.weights.resize(g.indices.size());
  if (src_degree) {
    for (std::int64_t v = 0; v < num_dst; ++v) {
      const T dv = static_cast<T>(src_degree[v]);
      const std::int64_t k = g.indptr[v + 1] - g.indptr[v] - 1;  // sampled neighbours, self-loop excluded
      const T scale = k > 0 ? dv / static_cast<T>(k) : T(0);
      g.weights[g.indptr[v]] = T(1) / (dv + T(1));
      for (std::int64_t e = g.indptr[v] + 1; e < g.indptr[v + 1]; ++e)
        g.weights[e] = scale / std::sqrt((static_cast<T>(src_degree[g.indices[e]]) + T(1)) * (dv + T(1)));
    }
    return g;
  }
  for (std::int64_t v = 0; v < num_dst; ++v) {
    const T din = static_cast<T>(g.indptr[v + 1] - g.indptr[v]);
    for (std::int64_t e = g.indptr[v]; e < g.indptr[v + 1]; ++e)
      g.weights[e] = T(1) / std::sqrt(din * static_cast<T>(out_deg[g.indices[e]]));
  }
  return g;
}

template <typename T>
agg_graph<T> transpose(const agg_graph<T>& g) {
  agg_graph<T> t;
  t.num_dst = g.num_src;
  t.num_src = g.num_dst;
  const std::int64_t ne = g.indptr[g.num_dst];
  t.indptr.assign(static_cast<std::size_t>(g.num_src) + 1, 0);
  for (std::int64_t e = 0; e < ne; ++e) ++t.indptr[g.indices[e] + 1];
  for (std::int64_t u = 0; u < g.num_src; ++u) t.indptr[u + 1] += t.indptr[u];
  t.indices.resize(static_cast<std::size_t>(ne));
  if (!g.weights.empty()) t.weights.resize(static_cast<std::size_t>(ne));
  TG_EXPECTS(ne <= std::numeric_limits<std::int32_t>::max(), "a block of ", ne, " edges is beyond 2^31");
  t.edge_ids.resize(static_cast<std::size_t>(ne));
  std::vector<std::int64_t> cur(t.indptr.begin(), t.indptr.end() - 1);
  for (std::int64_t v = 0; v < g.num_dst; ++v)
    for (std::int64_t e = g.indptr[v]; e < g.indptr[v + 1]; ++e) {
      const std::int64_t p = cur[g.indices[e]]++;
      t.indices[p] = static_cast<std::int32_t>(v);
      t.edge_ids[p] = static_cast<std::int32_t>(e);
      if (!g.weights.empty()) t.weights[p] = g.weights[e];
    }
  return t;
}

namespace {

// Destination rows [v0, v1): out = sum over the row's entries, in order, of w * x[src].
// The source rows are random, so no hardware prefetcher can guess them: each edge's row is
// prefetched kAhead edges early (the edges of [v0, v1) are contiguous). On the 1M-node peer_cpu
// workload (20 batches x 2 epochs, TIERGNN_PROFILE_OPS=1) the 128-wide aggregation took 0.37-0.41 s
// without, 0.28-0.29 with 4 ahead (2: 0.30-0.34, 8: 0.27-0.30, 16: 0.30-0.32); the 256-wide 0.34 -> 0.30.
// A prefetch changes no value.
template <typename T>
inline void aggregate_rows(std::int64_t v0, std::int64_t v1, const std::int64_t* indptr, const std::int32_t* indices,
                           const T* weights, const T* x, std::int64_t dim, T* y) {
  constexpr std::int64_t kAhead = 4;
  const std::int64_t e_end = indptr[v1], row_bytes = dim * static_cast<std::int64_t>(sizeof(T));
  auto fetch = [&](std::int64_t e) {
    const char* p = reinterpret_cast<const char*>(x + static_cast<std::int64_t>(indices[e]) * dim);
    for (std::int64_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(p + b);
  };
  for (std::int64_t e = indptr[v0]; e < std::min(e_end, indptr[v0] + kAhead); ++e) fetch(e);
  for (std::int64_t v = v0; v < v1; ++v) {
    T* out = y + v * dim;
    std::fill(out, out + dim, T(0));
    for (std::int64_t e = indptr[v]; e < indptr[v + 1]; ++e) {
      if (e + kAhead < e_end) fetch(e + kAhead);
      const T* in = x + static_cast<std::int64_t>(indices[e]) * dim;
      const T w = weights ? weights[e] : T(1);
      for (std::int64_t j = 0; j < dim; ++j) out[j] += w * in[j];
    }
  }
}

// The float32 rows (every model's aggregation) compiled for AVX-512, AVX2 and the baseline, chosen
// at run time. The file is built with -ffp-contract=off, so the product and the sum stay two
// roundings in every clone (no FMA): the same bits on any machine, as the baseline computes them.
__attribute__((target_clones("avx512f", "avx2", "default"))) void aggregate_rows_f32(
    std::int64_t v0, std::int64_t v1, const std::int64_t* indptr, const std::int32_t* indices, const float* weights,
    const float* x, std::int64_t dim, float* y) {
  aggregate_rows<float>(v0, v1, indptr, indices, weights, x, dim, y);
}

}  // namespace

template <typename T>
void aggregate_csr(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices, const T* weights,
                   const T* x, std::int64_t dim, T* y) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, num_dst, 32), [&](const auto& r) {
    if constexpr (std::is_same_v<T, float>)
      aggregate_rows_f32(r.begin(), r.end(), indptr, indices, weights, x, dim, y);
    else
      aggregate_rows<T>(r.begin(), r.end(), indptr, indices, weights, x, dim, y);
  });
}

template <typename T>
void aggregate_forward(const agg_graph<T>& g, const T* x, std::int64_t dim, T* y) {
  aggregate_csr(g.num_dst, g.indptr.data(), g.indices.data(), g.weights.empty() ? nullptr : g.weights.data(), x, dim,
                y);
}

template <typename T>
void aggregate_backward(const agg_graph<T>& gt, const T* dy, std::int64_t dim, T* dx) {
  aggregate_forward(gt, dy, dim, dx);
}

#define TG_INSTANTIATE(T)                                                                                    \
  template agg_graph<T> make_agg_graph<T>(aggregator, std::int64_t, std::int64_t, const std::int64_t*,       \
                                          const std::int32_t*, const std::int64_t*);                         \
  template agg_graph<T> transpose<T>(const agg_graph<T>&);                                                   \
  template void aggregate_csr<T>(std::int64_t, const std::int64_t*, const std::int32_t*, const T*, const T*, \
                                 std::int64_t, T*);                                                          \
  template void aggregate_forward<T>(const agg_graph<T>&, const T*, std::int64_t, T*);                       \
  template void aggregate_backward<T>(const agg_graph<T>&, const T*, std::int64_t, T*);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

}  // namespace tg
