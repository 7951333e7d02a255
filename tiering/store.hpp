#pragma once
// The feature store interface (DESIGN.md §4): gather(ids) -> float32 rows in the memory of the
// backend that trains on them, from whichever tiers hold them, counted in the traffic ledger.
// Implementations: tiered_store (CPU backend; tiering/feature_store.hpp) and cuda_tiered_store
// (CUDA backend; tiering/cuda_feature_store.hpp), built by make_feature_store().
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/dataset.hpp"
#include "core/span.hpp"
#include "kernels/backend.hpp"
#include "tiering/ledger.hpp"

namespace tg {

class feature_store {
 public:
  virtual ~feature_store() = default;
  virtual std::int64_t num_rows() const = 0;
  virtual std::int64_t dim() const = 0;
  virtual std::int64_t row_bytes() const = 0;
  virtual std::int64_t g() const = 0;  // rows [0, g): GPU tier
  virtual std::int64_t c() const = 0;  // rows [g, c): host tier; [c, N): disk
  // The memory gather() writes (host for the CPU store, device for the CUDA store).
  virtual memory_kind output_memory() const = 0;
  // How the host tier is held and reaches the output (a sentence for logs and benchmarks).
  virtual std::string host_tier_mode() const = 0;
  // out: ids.size() x dim float32 in output_memory() (float16 features are widened). Ids must be
  // unique within a call for the ledger to equal the batch's unique input rows. Adds the call's
  // counts to `counts` when given; returns once the rows are in `out`. Throws input_error for an id
  // outside [0, N) before any work.
  virtual void gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) = 0;
  // Whether gather() is a collective of a data-parallel job (the sharded store: every rank serves
  // the others' rows in each call), which every rank must then call equally often, even with no ids.
  virtual bool collective() const { return false; }
};

struct store_options {
  device_kind device = device_kind::cpu;
  int device_id = 0;
  int disk_readers = 4;
  bool map_host_tier = false;       // the host tier is the mapped file in place (CPU: read; CUDA: a pinned copy, or the
                                    // mapping registered in place with TIERGNN_CUDA_REGISTER_FILE=1)
  std::uint64_t reserve_bytes = 0;  // CUDA: device memory training needs beside the GPU tier
  bool cpu_gather_copy = false;     // CUDA: host rows gathered by CPU threads and copied (a baseline)
  // CUDA, one process per GPU: rows [0, replicated) on every GPU, rows [replicated, g) striped
  // (row r on GPU r mod k) and read from the peers over CUDA IPC; all_gather exchanges the handles.
  std::int64_t shared_replicated = -1;
  int shared_k = 1, shared_rank = 0;
  std::function<void(const void* send, std::size_t bytes, void* recv)> shared_all_gather;
};

// The store of dataset `d` with tier boundaries g <= c: rows [0, g) in the GPU tier, [g, c) in the
// host tier, the rest read from disk. A CUDA store checks its GPU tier plus reserve_bytes against
// the device's free memory first (budget_error with the numbers).
std::unique_ptr<feature_store> make_feature_store(const dataset& d, std::int64_t g, std::int64_t c,
                                                  const store_options& o);
// The same over a feature file of its own (a machine's shard): the memory tiers are copies
// (map_host_tier and the shared GPU tier do not apply).
struct feature_file;
std::unique_ptr<feature_store> make_feature_store(const feature_file& f, std::int64_t g, std::int64_t c,
                                                  const store_options& o);

}  // namespace tg
