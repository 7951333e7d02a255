#include "tiering/disk_reader.hpp"

#include <fcntl.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/error.hpp"
#include "core/npy.hpp"

namespace tg {

namespace {
std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}
}  // namespace

void pread_all(int fd, void* buf, std::size_t n, std::uint64_t offset, const std::string& path) {
  auto* p = static_cast<std::uint8_t*>(buf);
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", path);
    }
    if (got == 0) throw io_error(path + ": unexpected end of file while reading feature rows");
    p += got;
    n -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
}

feature_file feature_file::of(const dataset& d) {
  if (!d.meta().has_features() || !d.has("features.npy"))
    throw input_error(at_input(d.dir(), d.meta().feature_shards > 0
                                            ? "the features are sharded across machines (prepare --shards): "
                                              "train with one rank per shard"
                                            : "the dataset has no node features (features.npy)"));
  feature_file f;
  f.path = d.dir() + "/features.npy";
  f.rows = d.num_nodes();
  f.dim = d.meta().feature_dim;
  f.type = d.get("features.npy").type();
  return f;
}

disk_row_reader::disk_row_reader(const dataset& d, int readers) : disk_row_reader(feature_file::of(d), readers) {}

disk_row_reader::disk_row_reader(const feature_file& f, int readers) : readers_(std::max(1, readers)) {
  path_ = f.path;
  row_bytes_ = f.row_bytes();
  fd_ = unique_fd::open(path_, O_RDONLY);
  std::vector<std::uint8_t> head(4096);
  const ssize_t got = ::pread(fd_.get(), head.data(), head.size(), 0);
  if (got < 16) throw input_error(at_input(path_, "cannot read the .npy header"));
  const npy_header h = parse_npy_header(head.data(), static_cast<std::size_t>(got), path_);
  data_offset_ = h.data_offset;
  if (h.type != f.type || h.shape != std::vector<std::int64_t>{f.rows, f.dim})
    throw input_error(at_input(path_, "holds a " + std::string(dtype_name(h.type)) + " array of shape " +
                                          shape_string(h.shape) + ", expected " + std::string(dtype_name(f.type)) +
                                          " " + shape_string({f.rows, f.dim})));
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_errno("stat", path_);
  const std::uint64_t want = data_offset_ + static_cast<std::uint64_t>(f.rows) * static_cast<std::uint64_t>(row_bytes_);
  if (static_cast<std::uint64_t>(st.st_size) != want)
    throw input_error(at_input(path_, "is " + std::to_string(st.st_size) + " bytes, its header needs " +
                                          std::to_string(want) + " (truncated or padded)"));
}

void disk_row_reader::read_range(std::int64_t first, std::int64_t count, std::uint8_t* dst) const {
  if (count <= 0) return;
  pread_all(fd_.get(), dst, static_cast<std::size_t>(count * row_bytes_),
            data_offset_ + static_cast<std::uint64_t>(first) * static_cast<std::uint64_t>(row_bytes_), path_);
}

void disk_row_reader::read(const std::vector<std::pair<std::int64_t, std::size_t>>& rows, std::uint8_t* dst) const {
  // Runs of consecutive ids whose slots are consecutive too are read in one call.
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t j = i + 1;
    while (j < rows.size() && rows[j].first == rows[j - 1].first + 1 && rows[j].second == rows[j - 1].second + 1 &&
           j - i < 256)
      ++j;
    runs.emplace_back(i, j);
    i = j;
  }
  tbb::task_arena arena(std::max(1, std::min(readers_, tbb::this_task_arena::max_concurrency())));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, runs.size(), 1), [&](const auto& r) {
      for (std::size_t k = r.begin(); k < r.end(); ++k) {
        const auto [b, e] = runs[k];
        pread_all(fd_.get(), dst + rows[b].second * static_cast<std::size_t>(row_bytes_),
                  (e - b) * static_cast<std::size_t>(row_bytes_),
                  data_offset_ + static_cast<std::uint64_t>(rows[b].first) * static_cast<std::uint64_t>(row_bytes_),
                  path_);
      }
    });
  });
}

}  // namespace tg
