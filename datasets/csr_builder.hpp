#pragma once
// Builds the in-neighbour CSR of a dataset from a stream of edges with memory bounded by the node
// count and a fixed scatter budget, not by the edge count: edges are spilled to a file next to the
// dataset being written, then counted (pass 1) and scattered (pass 2) bucket by bucket — a range of
// rows whose arcs fit in a quarter of physical memory, one sequential read of the spill per bucket —
// into anonymous memory, where rows are sorted and de-duplicated in parallel, compacted, and
// appended to indices.npy sequentially. Because every row is sorted at the end the
// result does not depend on thread count or on the order edges arrive in within a row.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/span.hpp"
#include "core/stream_io.hpp"

namespace tg {

struct csr_build_options {
  bool symmetrize = false;  // add v -> u for every u -> v
  bool remove_self_loops = false;
  bool remove_duplicates = true;  // keep one copy of each (u, v)
  // > 0: every id added is below this bound (generators know their node count). Up to 2^32 the
  // spill file then stores 4-byte ids: half the bytes written and read back twice.
  std::int64_t id_bound = 0;
};

struct csr_build_stats {
  std::int64_t input_edges = 0;  // edges added
  std::int64_t self_loops_removed = 0;
  std::int64_t duplicates_removed = 0;
  std::int64_t edges = 0;            // stored arcs
  std::int64_t scatter_buckets = 0;  // row ranges scattered one at a time (one spill read each)
};

class csr_builder {
 public:
  // Spills into `spill_path` (removed by build() and by the destructor).
  csr_builder(std::string spill_path, csr_build_options opt);
  csr_builder(const csr_builder&) = delete;
  csr_builder& operator=(const csr_builder&) = delete;
  ~csr_builder();

  // Appends edges src[i] -> dst[i]. Ids are node ids, or original ids when an id map is set.
  void add(span<const std::int64_t> src, span<const std::int64_t> dst);
  void add(std::int64_t src, std::int64_t dst);
  std::int64_t added() const { return added_; }

  // Optional: ids passed to add() are original ids, mapped to their rank in `sorted_ids`
  // (strictly increasing; every id added must be present).
  void set_id_map(std::vector<std::int64_t> sorted_ids);

  // Writes indptr.npy and indices.npy into the writer's directory and fills meta num_nodes,
  // num_edges, directed, index_dtype. Ids must lie in [0, num_nodes). Before anything is read or
  // written it checks the memory the node count needs (expect_nodes_fit) and the free space for
  // both arrays (at most every added edge is stored), naming `input` (default: the output).
  csr_build_stats build(dataset_writer& w, std::int64_t num_nodes, const std::string& input = {});

  // Refuses (input_error naming `input`) a node count whose build needs more memory than this
  // machine has: two offset arrays of num_nodes + 1 entries. Importers that know the node count
  // before reading any edge call it first.
  static void expect_nodes_fit(std::int64_t num_nodes, const std::string& input);
  // Anonymous memory the build's scatter uses at a time (a quarter of usable memory, at least 64 MiB;
  // TIERGNN_CSR_BUCKET_BYTES overrides it), for the memory checks of commands that build a CSR.
  static std::uint64_t bucket_bytes();

 private:
  void flush_buffer();
  std::string spill_path_;
  csr_build_options opt_;
  std::unique_ptr<stream_writer> spill_;  // around the page cache (core/stream_io.hpp)
  std::vector<std::int64_t> buf_;
  std::vector<std::int64_t> id_map_;
  std::int64_t added_ = 0;
};

}  // namespace tg
