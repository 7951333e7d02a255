// CPU row gather: parallel over output rows (oneTBB), one memcpy per row.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "kernels/gather.hpp"

namespace tg {

void gather_rows_cpu(const void* table, std::int64_t num_rows, std::int64_t row_bytes, span<const std::int64_t> ids,
                     void* out) {
  const auto* src = static_cast<const std::uint8_t*>(table);
  auto* dst = static_cast<std::uint8_t*>(out);
  std::atomic<std::int64_t> bad{std::numeric_limits<std::int64_t>::max()};
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, ids.size(), 256), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      const std::int64_t id = ids[i];
      if (id < 0 || id >= num_rows) {
        std::int64_t cur = bad.load();
        while (static_cast<std::int64_t>(i) < cur && !bad.compare_exchange_weak(cur, static_cast<std::int64_t>(i))) {
        }
        continue;
      }
      std::memcpy(dst + i * row_bytes, src + id * row_bytes, static_cast<std::size_t>(row_bytes));
    }
  });
  const std::int64_t b = bad.load();
  if (b != std::numeric_limits<std::int64_t>::max())
    throw input_error("gather: id " + std::to_string(ids[b]) + " at position " + std::to_string(b) +
                      " is outside [0, " + std::to_string(num_rows) + ")");
}

}  // namespace tg
