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
    : rows_(d.num_nodes()), g_(g), c_(c), readers_(std::max(1, disk_readers)) {
  if (!d.meta().has_features())
    throw input_error(at_input(d.dir(), "the dataset has no node features (features.npy)"));
  TG_EXPECTS(0 <= g && g <= c && c <= rows_, "tier boundaries g=", g, " c=", c, " for ", rows_, " rows");
  const npy_array& f = d.get("features.npy");
  type_ = f.type();
  dim_ = d.meta().feature_dim;
  row_bytes_ = dim_ * static_cast<std::int64_t>(dtype_size(type_));
  path_ = d.dir() + "/features.npy";
  fd_ = ::open(path_.c_str(), O_RDONLY);
  if (fd_ < 0) throw_errno("open", path_);
  std::vector<std::uint8_t> head(4096);
  const ssize_t got = ::pread(fd_, head.data(), head.size(), 0);
  if (got < 16) throw input_error(at_input(path_, "cannot read the .npy header"));
  data_offset_ = parse_npy_header(head.data(), static_cast<std::size_t>(got), path_).data_offset;
  // Load the two memory tiers: contiguous row ranges of the renumbered file.
  gpu_tier_ = host_buffer<std::uint8_t>(static_cast<std::size_t>(g_ * row_bytes_));
  pread_all(fd_, gpu_tier_.data(), gpu_tier_.size(), data_offset_, path_);
  if (map_host_tier) {
    host_rows_ = static_cast<const std::uint8_t*>(f.raw()) + g_ * row_bytes_;
  } else {
    host_tier_ = host_buffer<std::uint8_t>(static_cast<std::size_t>((c_ - g_) * row_bytes_));
    pread_all(fd_, host_tier_.data(), host_tier_.size(), data_offset_ + static_cast<std::uint64_t>(g_ * row_bytes_), path_);
    host_rows_ = host_tier_.data();
  }
}

tiered_store::~tiered_store() {
  if (fd_ >= 0) ::close(fd_);
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

void tiered_store::read_disk_rows(const std::vector<std::pair<std::int64_t, std::size_t>>& rows, float* out) const {
  // Coalesce runs of consecutive ids into one read each; readers_ threads serve the runs.
  std::vector<std::pair<std::size_t, std::size_t>> runs;  // [begin, end) into rows
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t j = i + 1;
    while (j < rows.size() && rows[j].first == rows[j - 1].first + 1 && j - i < 256) ++j;
    runs.emplace_back(i, j);
    i = j;
  }
  // oneTBB cannot give an arena more threads than its worker limit (and warns when asked to), so
  // the pool is capped at the machine's concurrency.
  tbb::task_arena arena(std::max(1, std::min(readers_, tbb::this_task_arena::max_concurrency())));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, runs.size(), 1), [&](const auto& r) {
      std::vector<std::uint8_t> staging;
      for (std::size_t k = r.begin(); k < r.end(); ++k) {
        const auto [b, e] = runs[k];
        staging.resize((e - b) * static_cast<std::size_t>(row_bytes_));
        pread_all(fd_, staging.data(), staging.size(),
                  data_offset_ + static_cast<std::uint64_t>(rows[b].first) * static_cast<std::uint64_t>(row_bytes_), path_);
        for (std::size_t q = b; q < e; ++q)
          convert_row(staging.data() + (q - b) * static_cast<std::size_t>(row_bytes_), out + rows[q].second * dim_);
      }
    });
  });
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
  std::vector<std::pair<std::int64_t, std::size_t>> disk;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= c_) disk.emplace_back(ids[i], i);
  if (!disk.empty()) {
    std::sort(disk.begin(), disk.end());
    read_disk_rows(disk, out);
  }
  if (counts) *counts += count(ids);
}

void tiered_store::gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) {
  TG_EXPECTS(out.kind == memory_kind::host || out.kind == memory_kind::pinned, "the CPU feature store writes host memory, not ",
             to_string(out.kind));
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
