#include "tiering/feature_store.hpp"

#include <fcntl.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/progress.hpp"
#include "core/resources.hpp"
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
  // The two memory tiers are copies in this process's memory (the GPU tier too, on the CPU backend):
  // refused, naming the numbers, where they cannot fit at all (the kernel's OOM killer ended an embedding
  // program's whole Python process instead).
  {
    const std::uint64_t gpu_bytes = static_cast<std::uint64_t>(g_) * static_cast<std::uint64_t>(row_bytes_),
                        host_bytes = static_cast<std::uint64_t>(c_ - g_) * static_cast<std::uint64_t>(row_bytes_);
    const std::uint64_t have = usable_memory_bytes();
    if (have != kUnknownBytes && gpu_bytes + host_bytes > have)
      throw budget_error(at_input(f.path, "the GPU tier (" + format_bytes(static_cast<double>(gpu_bytes)) +
                                              ") and host tier (" + format_bytes(static_cast<double>(host_bytes)) +
                                              ") are held in this process's memory on the CPU backend: " +
                                              format_bytes(static_cast<double>(gpu_bytes + host_bytes)) +
                                              ", more than the " + format_bytes(static_cast<double>(have)) +
                                              " it may use (this machine's memory or its cgroup limit); give them "
                                              "fewer rows (the rest stay on disk)"));
  }
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
  // One parallel pass checks each id, copies the memory tiers' rows and counts the rows per tier
  // (integer sums: the same for any schedule). Each row's lines are prefetched kAhead rows early (8: 0.086 -> 0.079 s
  // for 10 batches of a 1M-node graph here, `api_bench --repeat`): the ids are random, so no hardware prefetcher can
  // guess the next row, and a DRAM-bound gather otherwise waits for every row in turn.
  struct tally {
    std::int64_t gpu = 0, host = 0, disk = 0;
    std::size_t first_bad = std::numeric_limits<std::size_t>::max();
  };
  constexpr std::size_t kAhead = 8;
  const std::int64_t line_bytes = 64;
  auto prefetch_row = [&](std::int64_t id) {  // memory tiers only: disk rows come later, bad ids are caught below
    if (id < 0 || id >= c_) return;
    const std::uint8_t* p = id < g_ ? gpu_tier_.data() + id * row_bytes_ : host_rows_ + (id - g_) * row_bytes_;
    for (std::int64_t b = 0; b < row_bytes_; b += line_bytes) __builtin_prefetch(p + b);
  };
  const tally t = tbb::parallel_reduce(
      tbb::blocked_range<std::size_t>(0, ids.size(), 256), tally{},
      [&](const tbb::blocked_range<std::size_t>& r, tally a) {
        for (std::size_t i = r.begin(); i < std::min(r.end(), r.begin() + kAhead); ++i) prefetch_row(ids[i]);
        for (std::size_t i = r.begin(); i < r.end(); ++i) {
          if (i + kAhead < r.end()) prefetch_row(ids[i + kAhead]);
          const std::int64_t id = ids[i];
          if (id < 0 || id >= rows_) {
            a.first_bad = std::min(a.first_bad, i);
          } else if (id < g_) {
            ++a.gpu;
            convert_row(gpu_tier_.data() + id * row_bytes_, out + i * dim_);
          } else if (id < c_) {
            ++a.host;
            convert_row(host_rows_ + (id - g_) * row_bytes_, out + i * dim_);
          } else {
            ++a.disk;
          }
        }
        return a;
      },
      [](tally a, const tally& b) {
        a.gpu += b.gpu;
        a.host += b.host;
        a.disk += b.disk;
        a.first_bad = std::min(a.first_bad, b.first_bad);
        return a;
      });
  if (t.first_bad != std::numeric_limits<std::size_t>::max())
    throw input_error("feature store: id " + std::to_string(ids[t.first_bad]) + " at position " +
                      std::to_string(t.first_bad) + " is outside [0, " + std::to_string(rows_) + ")");
  // Disk rows: read in id order (runs of consecutive ids in one read each) into staging, then
  // widened into place.
  if (t.disk > 0) {
    std::vector<std::pair<std::int64_t, std::size_t>> disk;  // (id, position in ids)
    disk.reserve(static_cast<std::size_t>(t.disk));
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids[i] >= c_) disk.emplace_back(ids[i], i);
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
  if (counts) {
    traffic c;
    c.batches = 1;
    c.row_bytes = row_bytes_;
    c.gpu_rows = t.gpu;
    c.host_rows = t.host;
    c.disk_rows = t.disk;
    *counts += c;
  }
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
