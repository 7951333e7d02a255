#pragma once
// tiergnn embedding API: the tiered feature store and its traffic ledger (DESIGN.md §4).
#include <cstdint>
#include <memory>
#include <string>

#include "tiergnn/dataset.hpp"

namespace tiergnn {

// gather(ids) -> float32 rows from whichever tier holds each id: [0, g) the GPU tier, [g, c) the
// host tier, [c, N) read from the features file by a pool of readers. On a prepared dataset g and
// c come from its plan; otherwise every row is in the host tier.
//
// Two backends behind one type, chosen by `device`:
//   "cpu"      the GPU tier is a budgeted host buffer standing in for device memory; rows are
//              gathered into host memory.
//   "cuda[:N]" the GPU tier in device memory, the host tier in pinned memory read zero-copy by the
//              gather kernel, disk rows staged through pinned buffers; rows land in device memory.
//              The GPU tier must fit in the device's free memory (error kind budget otherwise).
// Every gather is counted in the ledger; gather() may be called from several threads.
// Disk-tier rows are read from the file at every gather: a features file rewritten in place while a
// store is open serves its new bytes from the disk tier (the other tiers keep what they loaded);
// rewrite a dataset only with tiergnn's own commands, which write a new file and rename it.
struct store_options {
  std::string device = "cpu";       // "cpu", "cuda" or "cuda:N"
  int disk_readers = 4;             // 1 to 1024 threads reading disk-tier rows when io_uring is not used
  std::int64_t g = -1, c = -1;      // tier boundaries; -1: from the plan (prepared) or all rows in host
  std::uint64_t reserve_bytes = 0;  // cuda: device memory to leave free beside the GPU tier
};

// Rows gathered into memory the store allocated on its device; the memory lives as long as any
// copy of `owner`.
struct gathered_rows {
  std::shared_ptr<void> owner;
  float* data = nullptr;
  std::int64_t rows = 0, dim = 0;
  int device_id = -1;  // -1: host memory; otherwise the CUDA device holding it
};

class TIERGNN_API feature_store {
 public:
  explicit feature_store(const dataset& d, int disk_readers = 4);
  // Explicit tier boundaries 0 <= g <= c <= N (for experiments on unprepared datasets too).
  feature_store(const dataset& d, std::int64_t g, std::int64_t c, int disk_readers = 4);
  feature_store(const dataset& d, const store_options& opt);
  ~feature_store();
  feature_store(feature_store&&) noexcept;
  feature_store& operator=(feature_store&&) noexcept;

  std::int64_t num_rows() const;
  std::int64_t dim() const;
  std::int64_t row_bytes() const;  // bytes of one stored row (float16 rows are half of float32's)
  std::int64_t g() const;
  std::int64_t c() const;
  const std::string& device() const;  // "cpu" or "cuda:N"
  int device_id() const;              // -1 for "cpu"

  // out: count x dim() float32, C-contiguous, in the store's device memory (host memory for "cpu").
  // Ids must be in [0, N); repeated ids are served but counted as often as they appear. Throws
  // error(kind::input) naming the first bad id.
  void gather(const std::int64_t* ids, std::size_t count, float* out) const;
  // The same into memory the store allocates on its device.
  gathered_rows gather(const std::int64_t* ids, std::size_t count) const;

  // The ledger: everything gathered since construction or the last reset (one batch per call).
  tiergnn::traffic traffic() const;
  void reset_traffic();

  // The tier buffers themselves ("gpu": rows [0, g), "host": rows [g, c)) in the stored dtype,
  // writable: a write changes what later gathers return (the file is never written). CPU store
  // only (error kind input on a CUDA store).
  array_view tier(const std::string& which);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tiergnn
