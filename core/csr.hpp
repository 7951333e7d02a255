#pragma once
// Compressed sparse rows in in-neighbour orientation: indices[indptr[v] .. indptr[v+1]) are the
// sources u of the edges u -> v. indptr is int64 (N+1); indices are int32 or int64 (E).
#include <cstdint>
#include <string>

#include "core/dtype.hpp"
#include "core/hd.hpp"
#include "core/span.hpp"

namespace tg {

template <typename index_t>
struct csr_view {
  std::int64_t num_nodes = 0;
  span<const std::int64_t> indptr;  // num_nodes + 1
  span<const index_t> indices;      // indptr[num_nodes]

  TG_HD std::int64_t num_edges() const { return indptr[num_nodes]; }
  TG_HD std::int64_t degree(std::int64_t v) const { return indptr[v + 1] - indptr[v]; }
  TG_HD span<const index_t> neighbors(std::int64_t v) const {
    return indices.subspan(static_cast<std::size_t>(indptr[v]), static_cast<std::size_t>(degree(v)));
  }
};

// Full structural validation (parallel): indptr starts at 0, never decreases, ends at E; every
// index in [0, N). Throws input_error naming `name` and the first offending position.
void validate_csr(const std::string& name, std::int64_t num_nodes, span<const std::int64_t> indptr, const void* indices,
                  dtype index_dtype, std::int64_t num_edges);
// The same with the file each array came from, for messages that name the right one.
void validate_csr(const std::string& indptr_name, const std::string& indices_name, std::int64_t num_nodes,
                  span<const std::int64_t> indptr, const void* indices, dtype index_dtype, std::int64_t num_edges);

// The same with the indices read from `indices_file` at byte `offset` in large sequential reads
// around the page cache (core/stream_io.hpp), for index arrays too large to be worth paging in
// just to check them.
void validate_csr_streamed(const std::string& indptr_name, const std::string& indices_file, std::uint64_t offset,
                           std::int64_t num_nodes, span<const std::int64_t> indptr, dtype index_dtype,
                           std::int64_t num_edges);

// Degree summary used by `tiergnn info`.
struct degree_stats {
  std::int64_t max_in = 0, max_out = 0, max_total = 0;
  double mean_in = 0;
  std::int64_t isolated = 0;  // no in- or out-edges
  std::int64_t self_loops = 0;
  double top1_endpoint_share = 0;  // share of edge endpoints on the 1% of nodes with highest degree
};
degree_stats compute_degree_stats(std::int64_t num_nodes, span<const std::int64_t> indptr, const void* indices,
                                  dtype index_dtype);

}  // namespace tg
