#include "tiering/renumber.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/resources.hpp"
#include "core/stream_io.hpp"

namespace tg {

std::string shard_file_name(int shard, int shards) {
  return "shards/features-" + std::to_string(shard) + "-of-" + std::to_string(shards) + ".npy";
}

namespace {
constexpr std::size_t kChunkBytes = 64u << 20;

template <typename index_t>
void write_indices(const dataset& src, const std::vector<std::int64_t>& order, const std::vector<std::int64_t>& inv,
                   const std::vector<std::int64_t>& new_indptr, dataset_writer& w, progress& prog) {
  const auto old_ip = src.indptr().as<std::int64_t>();
  const auto old_ix = src.indices().as<index_t>();
  const std::int64_t n = src.num_nodes();
  npy_writer out(w.path("indices.npy"), dtype_of<index_t>(), {});
  std::vector<index_t> buf;
  const std::int64_t max_edges = static_cast<std::int64_t>(kChunkBytes / sizeof(index_t));
  std::int64_t row = 0;
  while (row < n) {
    // Rows [row, end) hold at most max_edges edges (or one row, if it alone is larger).
    std::int64_t end = std::upper_bound(new_indptr.begin() + row + 1, new_indptr.end(), new_indptr[row] + max_edges) -
                       new_indptr.begin() - 1;
    end = std::max(end, row + 1);
    const std::int64_t base = new_indptr[row];
    buf.resize(static_cast<std::size_t>(new_indptr[end] - base));
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(row, end, 256), [&](const auto& r) {
      for (std::int64_t i = r.begin(); i < r.end(); ++i) {
        const std::int64_t o = order[i];
        index_t* dst = buf.data() + (new_indptr[i] - base);
        for (std::int64_t e = old_ip[o]; e < old_ip[o + 1]; ++e) *dst++ = static_cast<index_t>(inv[old_ix[e]]);
      }
    });
    out.append(buf.data(), static_cast<std::int64_t>(buf.size()));
    prog.add(end - row);
    row = end;
  }
  out.finish();
}

// Anonymous memory one pass of the permutation may fill (bucket_budget_bytes);
// TIERGNN_PERMUTE_BUCKET_BYTES overrides it and streams arrays of any size (tests force many passes).
std::uint64_t permute_budget_bytes() {
  return bucket_budget_bytes("TIERGNN_PERMUTE_BUCKET_BYTES");
}

// Rows order[first, last) of `a`, in that order, into a new .npy file (all of them by default).
//
// A large array read from a file is not gathered row by row through its mapping: random reads of
// a file larger than the page cache thrash, and even a cached one costs a page fault per 4 KiB
// (53 s for the 8 GiB of features of the billion-arc R-MAT). Instead the output is cut into
// buckets of consecutive rows that fit permute_budget_bytes(); for each bucket the input is
// streamed once from disk (core/stream_io.hpp) and every row whose new position falls in the
// bucket is copied there; the bucket is then appended to the output. Small or in-memory arrays
// are gathered directly.
void write_rows(const npy_array& a, const std::vector<std::int64_t>& order, const std::vector<std::int64_t>& inv,
                const std::string& path, const char* label, std::int64_t first = 0, std::int64_t last = -1) {
  const std::int64_t n = last < 0 ? static_cast<std::int64_t>(order.size()) : last;
  std::vector<std::int64_t> row_shape(a.shape().begin() + 1, a.shape().end());
  std::int64_t row_elems = 1;
  for (auto d : row_shape) row_elems *= d;
  const std::size_t row_bytes = static_cast<std::size_t>(row_elems) * dtype_size(a.type());
  npy_writer out(path, a.type(), row_shape);
  const std::int64_t rows_out = n - first;
  const std::uint64_t out_bytes = static_cast<std::uint64_t>(rows_out) * row_bytes;
  const bool forced = std::getenv("TIERGNN_PERMUTE_BUCKET_BYTES") != nullptr;
  if (a.file().empty() || row_bytes == 0 || (out_bytes < (std::uint64_t{64} << 20) && !forced)) {
    std::optional<progress> prog;
    if (label) prog.emplace(label, rows_out, "rows");
    const std::int64_t chunk =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(kChunkBytes / std::max<std::size_t>(row_bytes, 1)));
    std::vector<std::uint8_t> buf;
    const auto* src = static_cast<const std::uint8_t*>(a.raw());
    for (std::int64_t r0 = first; r0 < n; r0 += chunk) {
      const std::int64_t r1 = std::min(n, r0 + chunk);
      buf.resize(static_cast<std::size_t>(r1 - r0) * row_bytes);
      tbb::parallel_for(tbb::blocked_range<std::int64_t>(r0, r1, 64), [&](const auto& r) {
        for (std::int64_t i = r.begin(); i < r.end(); ++i)
          std::memcpy(buf.data() + static_cast<std::size_t>(i - r0) * row_bytes,
                      src + static_cast<std::size_t>(order[i]) * row_bytes, row_bytes);
      });
      out.append(buf.data(), r1 - r0);
      if (prog) prog->add(r1 - r0);
    }
    out.finish();
    if (prog) prog->finish();
    return;
  }
  const std::int64_t bucket_rows = std::max<std::int64_t>(
      1, std::min<std::int64_t>(rows_out, static_cast<std::int64_t>(permute_budget_bytes() / row_bytes)));
  const std::int64_t passes = (rows_out + bucket_rows - 1) / bucket_rows;
  const std::int64_t in_rows = a.shape()[0];
  std::optional<progress> prog;
  if (label) prog.emplace(label, passes * in_rows, "rows read");
  // Not zero-filled: every byte is written by the scatter before it is appended.
  std::unique_ptr<std::uint8_t[]> bucket(new std::uint8_t[static_cast<std::size_t>(bucket_rows) * row_bytes]);
  const std::int64_t chunk_rows = std::max<std::int64_t>(1, static_cast<std::int64_t>((8u << 20) / row_bytes));
  std::vector<std::uint8_t> chunk(static_cast<std::size_t>(chunk_rows) * row_bytes);
  for (std::int64_t lo = first; lo < n; lo += bucket_rows) {
    const std::int64_t hi = std::min(n, lo + bucket_rows);
    stream_reader in(a.file(), a.data_offset());
    for (std::int64_t r0 = 0; r0 < in_rows; r0 += chunk_rows) {
      const std::int64_t r1 = std::min(in_rows, r0 + chunk_rows);
      in.read_exact(chunk.data(), static_cast<std::size_t>(r1 - r0) * row_bytes);
      tbb::parallel_for(tbb::blocked_range<std::int64_t>(r0, r1, 1024), [&](const auto& r) {
        for (std::int64_t o = r.begin(); o < r.end(); ++o) {
          const std::int64_t p = inv[static_cast<std::size_t>(o)];
          if (p >= lo && p < hi)
            std::memcpy(bucket.get() + static_cast<std::size_t>(p - lo) * row_bytes,
                        chunk.data() + static_cast<std::size_t>(o - r0) * row_bytes, row_bytes);
        }
      });
      if (prog) prog->add(r1 - r0);
    }
    out.append(bucket.get(), hi - lo);
  }
  out.finish();
  if (prog) prog->finish();
}
}  // namespace

void write_renumbered(const dataset& src, const std::vector<std::int64_t>& order, dataset_writer& w,
                      const std::vector<std::int64_t>& shard_bounds) {
  const std::int64_t n = src.num_nodes();
  TG_EXPECTS(static_cast<std::int64_t>(order.size()) == n, "order has ", order.size(), " entries for ", n, " nodes");
  std::vector<std::int64_t> inv(static_cast<std::size_t>(n), -1);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t o = order[i];
    TG_EXPECTS(o >= 0 && o < n && inv[o] == -1, "order is not a permutation");
    inv[o] = i;
  }
  const auto old_ip = src.indptr().as<std::int64_t>();
  std::vector<std::int64_t> new_indptr(static_cast<std::size_t>(n) + 1, 0);
  for (std::int64_t i = 0; i < n; ++i) new_indptr[i + 1] = new_indptr[i] + (old_ip[order[i] + 1] - old_ip[order[i]]);
  write_npy(w.path("indptr.npy"), dtype::int64, {n + 1}, new_indptr.data());
  {
    progress prog("renumbering the graph", n, "rows");
    if (src.indices().type() == dtype::int32)
      write_indices<std::int32_t>(src, order, inv, new_indptr, w, prog);
    else
      write_indices<std::int64_t>(src, order, inv, new_indptr, w, prog);
  }
  // The input graph is not read again: its pages (the whole CSR, which the profiler read) are
  // given back before the features' buckets are allocated.
  release_pages(src.indices());
  auto& m = w.meta();
  const auto& sm = src.meta();
  m.name = sm.name;
  m.num_nodes = n;
  m.num_edges = sm.num_edges;
  m.directed = sm.directed;
  m.index_dtype = sm.index_dtype;
  m.self_loops = sm.self_loops;  // a renumbering keeps every arc, a self-loop as one
  m.feature_dim = sm.feature_dim;
  m.feature_dtype = sm.feature_dtype;
  m.num_classes = sm.num_classes;
  m.label_dtype = sm.label_dtype;
  if (sm.has_features() && shard_bounds.size() > 2) {
    // Sharded: rows [bounds[m], bounds[m+1]) into shards/features-M-of-K.npy, outside the arrays
    // that every machine maps (meta.json lists none of them; plan.json does).
    const int k = static_cast<int>(shard_bounds.size()) - 1;
    m.feature_shards = k;
    std::filesystem::create_directories(w.path("shards"));
    for (int s = 0; s < k; ++s) {
      const std::string label = "permuting features into shard " + std::to_string(s + 1) + " of " + std::to_string(k);
      write_rows(src.get("features.npy"), order, inv, w.path(shard_file_name(s, k)), label.c_str(), shard_bounds[s],
                 shard_bounds[s + 1]);
    }
  } else if (sm.has_features()) {
    write_rows(src.get("features.npy"), order, inv, w.path("features.npy"), "permuting features");
  }
  if (src.has("labels.npy")) write_rows(src.get("labels.npy"), order, inv, w.path("labels.npy"), nullptr);
  if (src.has("node_ids.npy")) write_rows(src.get("node_ids.npy"), order, inv, w.path("node_ids.npy"), nullptr);
  for (const char* f : {"train_idx.npy", "valid_idx.npy", "test_idx.npy"}) {
    if (!src.has(f)) continue;
    std::vector<std::int64_t> ids = src.get(f).to_int64();
    for (auto& v : ids) v = inv[v];
    w.put(f, ids);
  }
  w.put("order.npy", order);
}

}  // namespace tg
