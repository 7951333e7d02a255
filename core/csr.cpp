#include "core/csr.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/stream_io.hpp"

namespace tg {

namespace {
constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();

// First position i in [0, count) with idx[i] outside [0, n), or kNone; the same for any thread
// count (minimum offending position over all chunks).
template <typename index_t>
std::int64_t first_out_of_range(const index_t* idx, std::int64_t count, std::int64_t n) {
  std::atomic<std::int64_t> first{kNone};
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, count, 1 << 16), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i) {
      const auto x = static_cast<std::int64_t>(idx[i]);
      if (x < 0 || x >= n) {
        std::int64_t cur = first.load();
        while (i < cur && !first.compare_exchange_weak(cur, i)) {
        }
        return;
      }
    }
  });
  return first.load();
}

[[noreturn]] void throw_bad_index(const std::string& name, std::int64_t n, span<const std::int64_t> indptr,
                                  std::int64_t bad, std::int64_t value) {
  const auto row = std::upper_bound(indptr.begin(), indptr.end(), bad) - indptr.begin() - 1;
  throw input_error(at_input(name, "indices[" + std::to_string(bad) + "] = " + std::to_string(value) + " (in row " +
                                       std::to_string(row) + ") is outside [0, " + std::to_string(n) + ")"));
}

template <typename index_t>
void check_indices(const std::string& name, std::int64_t n, span<const std::int64_t> indptr, const index_t* idx) {
  const std::int64_t bad = first_out_of_range(idx, indptr[n], n);
  if (bad != kNone) throw_bad_index(name, n, indptr, bad, static_cast<std::int64_t>(idx[bad]));
}

// The same over the file, read sequentially in 8 MiB pieces around the page cache.
template <typename index_t>
void check_indices_streamed(const std::string& name, std::int64_t n, span<const std::int64_t> indptr,
                            const std::string& file, std::uint64_t offset) {
  const std::int64_t e = indptr[n];
  constexpr std::int64_t kPiece = (std::int64_t{8} << 20) / static_cast<std::int64_t>(sizeof(index_t));
  std::vector<index_t> buf(static_cast<std::size_t>(std::min(e, kPiece)));
  stream_reader in(file, offset);
  for (std::int64_t first = 0; first < e; first += kPiece) {
    const std::int64_t count = std::min(kPiece, e - first);
    in.read_exact(buf.data(), static_cast<std::size_t>(count) * sizeof(index_t));
    const std::int64_t bad = first_out_of_range(buf.data(), count, n);
    if (bad != kNone) throw_bad_index(name, n, indptr, first + bad, static_cast<std::int64_t>(buf[bad]));
  }
}

void check_indptr(const std::string& name, std::int64_t n, span<const std::int64_t> indptr, std::int64_t num_edges) {
  TG_CHECK_INPUT(static_cast<std::int64_t>(indptr.size()) == n + 1,
                 at_input(name, "indptr has " + std::to_string(indptr.size()) +
                                    " entries, expected num_nodes + 1 = " + std::to_string(n + 1)));
  TG_CHECK_INPUT(indptr[0] == 0, at_input(name, "indptr[0] = " + std::to_string(indptr[0]) + ", expected 0"));
  TG_CHECK_INPUT(indptr[n] == num_edges,
                 at_input(name, "indptr[N] = " + std::to_string(indptr[n]) + " but the graph has " +
                                    std::to_string(num_edges) + " edges"));
  const std::int64_t bad = tbb::parallel_reduce(
      tbb::blocked_range<std::int64_t>(0, n, 1 << 16), kNone,
      [&](const auto& r, std::int64_t acc) {
        for (std::int64_t v = r.begin(); v < r.end(); ++v)
          if (indptr[v + 1] < indptr[v]) return std::min(acc, v);
        return acc;
      },
      [](std::int64_t a, std::int64_t b) { return std::min(a, b); });
  if (bad != kNone)
    throw input_error(at_input(name, "indptr decreases at row " + std::to_string(bad) + " (" +
                                         std::to_string(indptr[bad]) + " > " + std::to_string(indptr[bad + 1]) + ")"));
}

[[noreturn]] void throw_index_dtype(const std::string& indices_name, dtype index_dtype) {
  throw input_error(
      at_input(indices_name, "indices dtype must be int32 or int64, not " + std::string(dtype_name(index_dtype))));
}
}  // namespace

void validate_csr_streamed(const std::string& indptr_name, const std::string& indices_file, std::uint64_t offset,
                           std::int64_t n, span<const std::int64_t> indptr, dtype index_dtype, std::int64_t num_edges) {
  check_indptr(indptr_name, n, indptr, num_edges);
  if (index_dtype == dtype::int32)
    check_indices_streamed<std::int32_t>(indices_file, n, indptr, indices_file, offset);
  else if (index_dtype == dtype::int64)
    check_indices_streamed<std::int64_t>(indices_file, n, indptr, indices_file, offset);
  else
    throw_index_dtype(indices_file, index_dtype);
}

void validate_csr(const std::string& indptr_name, const std::string& indices_name, std::int64_t n,
                  span<const std::int64_t> indptr, const void* indices, dtype index_dtype, std::int64_t num_edges) {
  check_indptr(indptr_name, n, indptr, num_edges);
  if (index_dtype == dtype::int32)
    check_indices(indices_name, n, indptr, static_cast<const std::int32_t*>(indices));
  else if (index_dtype == dtype::int64)
    check_indices(indices_name, n, indptr, static_cast<const std::int64_t*>(indices));
  else
    throw_index_dtype(indices_name, index_dtype);
}

void validate_csr(const std::string& name, std::int64_t n, span<const std::int64_t> indptr, const void* indices,
                  dtype index_dtype, std::int64_t num_edges) {
  validate_csr(name, name, n, indptr, indices, index_dtype, num_edges);
}

namespace {
template <typename index_t>
degree_stats stats_impl(std::int64_t n, span<const std::int64_t> indptr, const index_t* idx) {
  degree_stats s;
  const std::int64_t e = indptr[n];
  std::vector<std::atomic<std::int64_t>> out(static_cast<std::size_t>(n));
  tbb::parallel_for(std::int64_t{0}, n, [&](std::int64_t v) { out[v].store(0, std::memory_order_relaxed); });
  std::atomic<std::int64_t> loops{0};
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 4096), [&](const auto& r) {
    std::int64_t local_loops = 0;
    for (std::int64_t v = r.begin(); v < r.end(); ++v)
      for (std::int64_t i = indptr[v]; i < indptr[v + 1]; ++i) {
        out[idx[i]].fetch_add(1, std::memory_order_relaxed);
        if (static_cast<std::int64_t>(idx[i]) == v) ++local_loops;
      }
    loops += local_loops;
  });
  s.self_loops = loops.load();
  std::vector<std::int64_t> total(static_cast<std::size_t>(n));
  for (std::int64_t v = 0; v < n; ++v) {
    const std::int64_t in = indptr[v + 1] - indptr[v], o = out[v].load();
    s.max_in = std::max(s.max_in, in);
    s.max_out = std::max(s.max_out, o);
    total[v] = in + o;
    s.max_total = std::max(s.max_total, total[v]);
    if (in + o == 0) ++s.isolated;
  }
  s.mean_in = n ? static_cast<double>(e) / n : 0.0;
  if (e > 0) {
    tbb::parallel_sort(total.begin(), total.end(), std::greater<std::int64_t>());
    const std::int64_t top = std::max<std::int64_t>(1, n / 100);
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < top; ++i) sum += total[i];
    s.top1_endpoint_share = static_cast<double>(sum) / (2.0 * e);
  }
  return s;
}
}  // namespace

degree_stats compute_degree_stats(std::int64_t n, span<const std::int64_t> indptr, const void* indices,
                                  dtype index_dtype) {
  if (index_dtype == dtype::int32) return stats_impl(n, indptr, static_cast<const std::int32_t*>(indices));
  return stats_impl(n, indptr, static_cast<const std::int64_t*>(indices));
}

}  // namespace tg
