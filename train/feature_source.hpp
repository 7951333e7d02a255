#pragma once
// Reads rows of a dataset's node features as float32 (converting float16), for the CPU trainer and
// evaluation. The tiered feature store (tiering/) serves the same calls from GPU/host/disk tiers.
#include <cstdint>

#include "core/dataset.hpp"
#include "core/span.hpp"

namespace tg {

class feature_source {
 public:
  explicit feature_source(const dataset& d);
  std::int64_t dim() const { return dim_; }
  std::int64_t num_rows() const { return rows_; }
  // out: ids.size() x dim floats.
  void gather(span<const std::int64_t> ids, float* out) const;

 private:
  const void* data_ = nullptr;
  dtype type_ = dtype::float32;
  std::int64_t rows_ = 0, dim_ = 0;
};

}  // namespace tg
