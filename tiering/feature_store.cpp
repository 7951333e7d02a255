#include "tiering/feature_store.hpp"

#include <fcntl.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "core/npy.hpp"
#include "tiering/disk_reader.hpp"

namespace tg {

tiered_store::tiered_store(const dataset& d, std::int64_t g, std::int64_t c, int disk_readers, bool map_host_tier)
    : tiered_store(feature_file::of(d), g, map_host_tier ? g : c, disk_readers) {
  if (map_host_tier) {
    c_ = c;
    host_rows_ = static_cast<const std::uint8_t*>(d.get("features.npy").raw()) + g_ * row_bytes_;
  }
}

tiered_store::tiered_store(const feature_file& f, std::int64_t g, std::int64_t c, int disk_readers)
    : rows_(f.rows), g_(g), c_(c), disk_(f, disk_readers) {
  TG_EXPECTS(0 <= g && g <= c && c <= rows_, "tier boundaries g=", g, " c=", c, " for ", rows_, " rows");
  type_ = f.type;
  dim_ = f.dim;
  row_bytes_ = disk_.row_bytes();
  // Load the two memory tiers: contiguous row ranges of the renumbered file.
  gpu_tier_ = host_buffer<std::uint8_t>(static_cast<std::size_t>(g_ * row_bytes_));
  disk_.read_range(0, g_, gpu_tier_.data());
  {
    host_tier_ = host_buffer<std::uint8_t>(static_cast<std::size_t>((c_ - g_) * row_bytes_));
    disk_.read_range(g_, c_ - g_, host_tier_.data());
    host_rows_ = host_tier_.data();
  }
}

void tiered_store::convert_row(const std::uint8_t* src, float* dst) const {
  if (type_ == dtype::float32) {
    std::memcpy(dst, src, static_cast<std::size_t>(row_bytes_));
    return;
  }
  const auto* h = reinterpret_cast<const std::uint16_t*>(src);
  for (std::int64_t j = 0; j < dim_; ++j) dst[j] = half_to_float(h[j]);
}

traffic tiered_store::count(span<const std::int64_t> ids) const {
  traffic t;
  t.batches = 1;
  t.row_bytes = row_bytes_;
  for (std::int64_t id : ids) {
    if (id < g_)
      ++t.gpu_rows;
    else if (id < c_)
      ++t.host_rows;
    else
      ++t.disk_rows;
  }
  return t;
}

void tiered_store::gather(span<const std::int64_t> ids, float* out, traffic* counts) const {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= rows_)
      throw input_error("feature store: id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                        " is outside [0, " + std::to_string(rows_) + ")");
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, ids.size(), 256), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      const std::int64_t id = ids[i];
      if (id < g_)
        convert_row(gpu_tier_.data() + id * row_bytes_, out + i * dim_);
      else if (id < c_)
        convert_row(host_rows_ + (id - g_) * row_bytes_, out + i * dim_);
    }
  });
  // Disk rows: read in id order (runs of consecutive ids in one read each) into staging, then
  // widened into place.
  std::vector<std::pair<std::int64_t, std::size_t>> disk;  // (id, position in ids)
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= c_) disk.emplace_back(ids[i], i);
  if (!disk.empty()) {
    std::sort(disk.begin(), disk.end());
    std::vector<std::pair<std::int64_t, std::size_t>> slots(disk.size());  // (id, staging slot)
    for (std::size_t k = 0; k < disk.size(); ++k) slots[k] = {disk[k].first, k};
    host_buffer<std::uint8_t> staging(disk.size() * static_cast<std::size_t>(row_bytes_));
    disk_.read(slots, staging.data());
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, disk.size(), 256), [&](const auto& r) {
      for (std::size_t k = r.begin(); k < r.end(); ++k)
        convert_row(staging.data() + k * static_cast<std::size_t>(row_bytes_), out + disk[k].second * dim_);
    });
  }
  if (counts) *counts += count(ids);
}

void tiered_store::gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) {
  TG_EXPECTS(out.kind == memory_kind::host || out.kind == memory_kind::pinned,
             "the CPU feature store writes host memory, not ", to_string(out.kind));
  TG_EXPECTS(out.size >= static_cast<std::int64_t>(ids.size()) * dim_, "feature store: the output holds ", out.size,
             " floats, the gather needs ", static_cast<std::int64_t>(ids.size()) * dim_);
  gather(ids, out.data, counts);
}

std::uint8_t* tiered_store::tier_data(int which) {
  if (which == 0) return gpu_tier_.data();
  TG_EXPECTS(host_tier_.data() != nullptr || c_ == g_, "the host tier of this store is the read-only mapped file");
  return host_tier_.data();
}

}  // namespace tg
