#pragma once
// Row gather: out[i, :] = table[ids[i], :] for a row-major table of fixed-size rows. One
// declaration; the CPU implementation is in kernels/cpu/, the CUDA twin comes with the GPU store.
#include <cstdint>

#include "core/span.hpp"

namespace tg {

// Copies rows `ids` of `table` (num_rows rows of row_bytes bytes) into `out` (ids.size() rows).
// Throws input_error if an id is outside [0, num_rows).
void gather_rows_cpu(const void* table, std::int64_t num_rows, std::int64_t row_bytes, span<const std::int64_t> ids,
                     void* out);

}  // namespace tg
