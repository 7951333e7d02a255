#include "datasets/csr_builder.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/progress.hpp"
#include "core/resources.hpp"
#include "core/stream_io.hpp"

namespace tg {

namespace {
constexpr std::size_t kBufferPairs = 1 << 20;  // 16 MiB of pairs per spill write / read
}

csr_builder::csr_builder(std::string spill_path, csr_build_options opt)
    : spill_path_(std::move(spill_path)), opt_(opt) {
  spill_ = std::make_unique<stream_writer>(spill_path_);
  buf_.reserve(2 * kBufferPairs);
}

csr_builder::~csr_builder() {
  spill_.reset();
  ::unlink(spill_path_.c_str());
}

namespace {
bool compact_spill(const csr_build_options& o) {
  return o.id_bound > 0 && o.id_bound <= (std::int64_t{1} << 32);
}
}  // namespace

void csr_builder::flush_buffer() {
  if (buf_.empty()) return;
  if (compact_spill(opt_)) {
    std::vector<std::uint32_t> narrow(buf_.size());
    for (std::size_t i = 0; i < buf_.size(); ++i) {
      if (buf_[i] < 0 || buf_[i] >= opt_.id_bound)
        throw input_error("edge endpoint " + std::to_string(buf_[i]) + " is outside [0, " +
                          std::to_string(opt_.id_bound) + ")");
      narrow[i] = static_cast<std::uint32_t>(buf_[i]);
    }
    spill_->write(narrow.data(), narrow.size() * sizeof(std::uint32_t));
  } else {
    spill_->write(buf_.data(), buf_.size() * sizeof(std::int64_t));
  }
  buf_.clear();
}

void csr_builder::add(std::int64_t src, std::int64_t dst) {
  buf_.push_back(src);
  buf_.push_back(dst);
  ++added_;
  if (buf_.size() >= 2 * kBufferPairs) flush_buffer();
}

void csr_builder::add(span<const std::int64_t> src, span<const std::int64_t> dst) {
  TG_EXPECTS(src.size() == dst.size(), "src/dst length mismatch");
  for (std::size_t i = 0; i < src.size(); ++i) add(src[i], dst[i]);
}

void csr_builder::set_id_map(std::vector<std::int64_t> sorted_ids) {
  id_map_ = std::move(sorted_ids);
}

namespace {

// Anonymous memory the scatter of pass 2 may use (bucket_budget_bytes; TIERGNN_CSR_BUCKET_BYTES
// overrides it, tests use it to force many buckets).
std::uint64_t scatter_budget_bytes() {
  return bucket_budget_bytes("TIERGNN_CSR_BUCKET_BYTES");
}

// Reads the spill file in chunks and calls f(pairs, count) for each chunk.
// A compact spill (4-byte ids) is widened chunk by chunk.
template <typename F>
void for_each_chunk(const std::string& path, bool compact, F&& fn) {
  stream_reader f(path);
  std::vector<std::int64_t> chunk(2 * kBufferPairs);
  std::vector<std::uint32_t> narrow(compact ? 2 * kBufferPairs : 0);
  while (true) {
    std::size_t got = 0;
    if (compact) {
      got = f.read(narrow.data(), narrow.size() * sizeof(std::uint32_t)) / sizeof(std::uint32_t);
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, got, 1 << 16), [&](const auto& r) {
        for (std::size_t i = r.begin(); i < r.end(); ++i) chunk[i] = static_cast<std::int64_t>(narrow[i]);
      });
    } else {
      got = f.read(chunk.data(), chunk.size() * sizeof(std::int64_t)) / sizeof(std::int64_t);
    }
    if (got == 0) break;
    fn(chunk.data(), got / 2);
  }
}

template <typename index_t>
csr_build_stats build_impl(const std::string& spill_path, const std::vector<std::int64_t>& id_map,
                           const csr_build_options& opt, dataset_writer& w, std::int64_t n, std::int64_t added) {
  csr_build_stats st;
  st.input_edges = added;
  auto map_id = [&](std::int64_t x) -> std::int64_t {
    if (id_map.empty()) return x;
    auto it = std::lower_bound(id_map.begin(), id_map.end(), x);
    TG_EXPECTS(it != id_map.end() && *it == x, "id ", x, " missing from the id map");
    return it - id_map.begin();
  };
  // Pass 1: in-degree counts (row = destination).
  std::vector<std::atomic<std::int64_t>> cursor(static_cast<std::size_t>(n) + 1);
  tbb::parallel_for(std::size_t{0}, cursor.size(),
                    [&](std::size_t i) { cursor[i].store(0, std::memory_order_relaxed); });
  progress prog("building CSR", 2 * added * (opt.symmetrize ? 2 : 1), "edges");
  auto check_range = [&](std::int64_t x) {
    if (x < 0 || x >= n)
      throw input_error("edge endpoint " + std::to_string(x) + " is outside [0, " + std::to_string(n) + ")");
  };
  for_each_chunk(spill_path, compact_spill(opt), [&](const std::int64_t* p, std::size_t m) {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, m, 1 << 14), [&](const auto& r) {
      for (std::size_t i = r.begin(); i < r.end(); ++i) {
        const std::int64_t u = map_id(p[2 * i]), v = map_id(p[2 * i + 1]);
        check_range(u);
        check_range(v);
        cursor[v + 1].fetch_add(1, std::memory_order_relaxed);
        if (opt.symmetrize && u != v) cursor[u + 1].fetch_add(1, std::memory_order_relaxed);
      }
    });
    prog.add(static_cast<std::int64_t>(m) * (opt.symmetrize ? 2 : 1));
  });
  std::vector<std::int64_t> indptr(static_cast<std::size_t>(n) + 1, 0);
  for (std::int64_t v = 0; v < n; ++v) indptr[v + 1] = indptr[v] + cursor[v + 1].load();
  for (std::int64_t v = 0; v <= n; ++v) cursor[v].store(indptr[v], std::memory_order_relaxed);

  // Pass 2: scatter sources into their destination rows, one bucket of consecutive rows at a time in
  // anonymous memory (at most scatter_budget_bytes() of it), sort and de-duplicate the bucket's rows,
  // and append them to indices.npy sequentially. Random writes into a mapped output larger than the
  // page cache thrash (a 1-billion-arc build crawled at ~1M arcs/s); a bucket costs one more
  // sequential read of the spill file instead.
  const std::uint64_t budget = scatter_budget_bytes();
  std::vector<std::int64_t> bucket_start{0};
  for (std::int64_t v = 0; v < n;) {
    const std::int64_t lo = v++;  // a bucket holds at least one row
    while (v < n && static_cast<std::uint64_t>(indptr[v + 1] - indptr[lo]) * sizeof(index_t) <= budget) ++v;
    bucket_start.push_back(v);
  }
  const std::size_t buckets = bucket_start.size() - 1;
  prog.set_total(static_cast<std::int64_t>(buckets + 1) * added *
                 (opt.symmetrize ? 2 : 1));  // pass 1 + a pass a bucket
  st.scatter_buckets = static_cast<std::int64_t>(buckets);

  npy_writer out(w.path("indices.npy"), dtype_of<index_t>(), {});

  std::vector<index_t> buf;
  std::vector<std::int64_t> keep(static_cast<std::size_t>(n));
  std::atomic<std::int64_t> loops{0}, dups{0}, stored_loops{0};
  std::int64_t pos = 0;
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::int64_t lo = bucket_start[b], hi = bucket_start[b + 1], base = indptr[lo];
    buf.resize(static_cast<std::size_t>(indptr[hi] - base));
    index_t* idx = buf.data() - base;  // idx[k] for k in [indptr[lo], indptr[hi])
    const bool all = buckets == 1;
    for_each_chunk(spill_path, compact_spill(opt), [&](const std::int64_t* p, std::size_t m) {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, m, 1 << 14), [&](const auto& r) {
        for (std::size_t i = r.begin(); i < r.end(); ++i) {
          const std::int64_t u = map_id(p[2 * i]), v = map_id(p[2 * i + 1]);
          if (all || (v >= lo && v < hi))
            idx[cursor[v].fetch_add(1, std::memory_order_relaxed)] = static_cast<index_t>(u);
          if (opt.symmetrize && u != v && (all || (u >= lo && u < hi)))
            idx[cursor[u].fetch_add(1, std::memory_order_relaxed)] = static_cast<index_t>(v);
        }
      });
      prog.add(static_cast<std::int64_t>(m) * (opt.symmetrize ? 2 : 1));
    });
    // Sort each row, drop self-loops / duplicates as asked; new row lengths in `keep`.
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(lo, hi, 1024), [&](const auto& r) {
      std::int64_t l = 0, d = 0, kept_loops = 0;
      for (std::int64_t v = r.begin(); v < r.end(); ++v) {
        index_t* rb = idx + indptr[v];
        index_t* re = idx + indptr[v + 1];
        std::sort(rb, re);
        index_t* o = rb;
        for (index_t* it = rb; it != re; ++it) {
          if (opt.remove_self_loops && static_cast<std::int64_t>(*it) == v) {
            ++l;
            continue;
          }
          if (opt.remove_duplicates && o != rb && *(o - 1) == *it) {
            ++d;
            continue;
          }
          kept_loops += static_cast<std::int64_t>(*it) == v;
          *o++ = *it;
        }
        keep[static_cast<std::size_t>(v)] = o - rb;
      }
      loops += l;
      dups += d;
      stored_loops += kept_loops;
    });
    // Compact the bucket left to right (new offsets never exceed old ones) and append it.
    index_t* dst = buf.data();
    std::int64_t kept = 0;
    for (std::int64_t v = lo; v < hi; ++v) {
      const std::int64_t k = keep[static_cast<std::size_t>(v)];
      index_t* src = idx + indptr[v];
      if (dst + kept != src && k > 0) std::memmove(dst + kept, src, static_cast<std::size_t>(k) * sizeof(index_t));
      indptr[v] = pos + kept;
      kept += k;
    }
    out.append(dst, kept);
    pos += kept;
  }
  cursor.clear();
  cursor.shrink_to_fit();
  indptr[n] = pos;
  st.self_loops_removed = loops.load();
  w.meta().self_loops = stored_loops.load();
  st.duplicates_removed = dups.load();
  st.edges = pos;
  out.finish();
  write_npy(w.path("indptr.npy"), dtype::int64, {n + 1}, indptr.data());
  prog.finish();
  return st;
}

}  // namespace

std::uint64_t csr_builder::bucket_bytes() {
  return scatter_budget_bytes();
}

void csr_builder::expect_nodes_fit(std::int64_t num_nodes, const std::string& input) {
  if (num_nodes < 0) throw input_error(at_input(input, "node count " + std::to_string(num_nodes) + " is negative"));
  expect_memory(saturating_mul(static_cast<std::uint64_t>(num_nodes) + 1, 2 * sizeof(std::int64_t)) + bucket_bytes() +
                    kProcessBaselineBytes,
                input,
                "building the graph of " + std::to_string(num_nodes) +
                    " nodes (16 bytes per node, the bucket of arcs it scatters at a time and the process itself)");
}

csr_build_stats csr_builder::build(dataset_writer& w, std::int64_t num_nodes, const std::string& input) {
  flush_buffer();
  spill_->finish();
  const std::string& named = input.empty() ? w.final_dir() : input;
  expect_nodes_fit(num_nodes, named);
  const bool narrow = num_nodes <= std::numeric_limits<std::int32_t>::max();
  const std::uint64_t arcs = saturating_mul(static_cast<std::uint64_t>(added_), opt_.symmetrize ? 2 : 1);
  w.expect_space(saturating_add(saturating_mul(static_cast<std::uint64_t>(num_nodes) + 1, sizeof(std::int64_t)),
                                saturating_mul(arcs, narrow ? sizeof(std::int32_t) : sizeof(std::int64_t))),
                 "the graph of " + std::to_string(num_nodes) + " nodes and up to " + std::to_string(arcs) +
                     " arcs (indptr.npy, indices.npy)");
  csr_build_stats st = narrow ? build_impl<std::int32_t>(spill_path_, id_map_, opt_, w, num_nodes, added_)
                              : build_impl<std::int64_t>(spill_path_, id_map_, opt_, w, num_nodes, added_);
  spill_.reset();
  ::unlink(spill_path_.c_str());
  auto& m = w.meta();
  m.num_nodes = num_nodes;
  m.num_edges = st.edges;
  m.directed = !opt_.symmetrize;
  m.index_dtype = narrow ? dtype::int32 : dtype::int64;
  return st;
}

}  // namespace tg
