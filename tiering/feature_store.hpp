#pragma once
// The tiered feature store (DESIGN.md §4), CPU backend: gather(ids) -> rows from whichever tier
// holds each id of a renumbered (hot-first) dataset, by a range test on the id:
//   id < g       GPU tier: on the CPU backend a budgeted host buffer standing in for device memory
//   g <= id < c  host tier: a host buffer (pinned memory on the CUDA backend)
//   c <= id      disk tier: read from features.npy with pread by a pool of reader threads into
//                staging memory (no mmap, so disk rows really come from the file / page cache)
// Every gather is counted in the traffic ledger. The tiers are loaded once when the store opens;
// their sizes never exceed the plan's rows.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/memory.hpp"
#include "core/span.hpp"
#include "tiering/disk_reader.hpp"
#include "tiering/ledger.hpp"
#include "tiering/store.hpp"

namespace tg {

class tiered_store final : public feature_store {
 public:
  // g and c: tier boundaries (0 <= g <= c <= N). disk_readers: threads reading disk rows.
  // map_host_tier: the host tier reads the dataset's memory-mapped features in place instead of a
  // copy (an unprepared dataset, every row in the host tier); `d` must then outlive the store.
  tiered_store(const dataset& d, std::int64_t g, std::int64_t c, int disk_readers = 4, bool map_host_tier = false);
  // The same over a feature file of its own (a machine's shard; its memory tiers are copies).
  tiered_store(const feature_file& f, std::int64_t g, std::int64_t c, int disk_readers = 4);
  tiered_store(const tiered_store&) = delete;
  tiered_store& operator=(const tiered_store&) = delete;

  std::int64_t dim() const override { return dim_; }
  std::int64_t num_rows() const override { return rows_; }
  std::int64_t row_bytes() const override { return row_bytes_; }
  std::int64_t g() const override { return g_; }
  std::int64_t c() const override { return c_; }
  memory_kind output_memory() const override { return memory_kind::host; }
  std::string host_tier_mode() const override {
    return host_tier_.data() || c_ == g_ ? "a copy in host memory" : "the features file's mapping, read in place";
  }
  void gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) override;

  // out: ids.size() x dim float32 (float16 features are converted). Ids must be unique within a
  // call for the ledger to equal the batch's unique input rows (the sampler's input nodes are).
  // Adds this call's counts to `counts` when given. Throws input_error for an id out of range.
  void gather(span<const std::int64_t> ids, float* out, traffic* counts = nullptr) const;

  // Counts a gather of `ids` would make, without moving data (for simulations and tests).
  traffic count(span<const std::int64_t> ids) const;

  // The GPU (0) or host (1) tier buffer: rows [0, g) or [g, c) in the stored dtype. Writes change
  // what later gathers return (the embedding API's tier views; the file is never written).
  std::uint8_t* tier_data(int which);

 private:
  void convert_row(const std::uint8_t* src, float* dst) const;

  std::int64_t rows_ = 0, dim_ = 0, row_bytes_ = 0, g_ = 0, c_ = 0;
  dtype type_ = dtype::float32;
  host_buffer<std::uint8_t> gpu_tier_, host_tier_;
  const std::uint8_t* host_rows_ = nullptr;  // host tier: host_tier_ or the mapped file
  disk_row_reader disk_;
};

}  // namespace tg
