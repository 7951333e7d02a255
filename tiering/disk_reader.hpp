#pragma once
// Reads feature rows of the disk tier from features.npy (no mmap: disk rows really come from the
// file or the page cache), runs of consecutive ids coalesced into one read. The one reader of the
// disk tier: the CPU store reads its disk rows with it into staging memory, the CUDA store into
// pinned staging buffers.
//
// Two engines, same bytes:
//   io_uring  (when tiergnn is built with liburing and the kernel allows it) one thread keeps up to
//             `queue_depth` reads in flight, so a disk that needs many outstanding requests to
//             reach its IOPS (NVMe, virtio, network block devices) is kept busy;
//   pread     a pool of `readers` threads, each with one read in flight (the fallback). The pool is
//             started at the first read and kept until the reader is destroyed (a pool per call cost
//             `readers` thread starts per mini-batch); calls from several threads take turns, each
//             using the whole pool (together they could not read faster than its threads).
// The file is opened with POSIX_FADV_RANDOM (no readahead: a random row costs one page, not 128 KiB).
// TIERGNN_DISK_IO=pread|io_uring picks one (default: io_uring when available);
// bench/disk_bench.cpp measures both against the disk's ceiling.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/dataset.hpp"
#include "core/file_handle.hpp"

namespace tg {

// Reads exactly n bytes at offset, retrying short reads; io_error on failure or end of file.
void pread_all(int fd, void* buf, std::size_t n, std::uint64_t offset, const std::string& path);

// A feature matrix in a .npy file: a dataset's features.npy, or one shard of sharded features.
struct feature_file {
  std::string path;
  std::int64_t rows = 0, dim = 0;
  dtype type = dtype::float32;
  std::int64_t row_bytes() const { return dim * static_cast<std::int64_t>(dtype_size(type)); }
  // The dataset's features.npy (input_error when it has none).
  static feature_file of(const dataset& d);
};

enum class disk_io { automatic, pread, io_uring };

// Whether this build has the io_uring engine, and whether this kernel / sandbox lets it run.
bool io_uring_compiled();
bool io_uring_usable();

// One read of the disk tier: `bytes` at file offset `offset` into `dst`.
struct read_run {
  std::uint64_t offset;
  std::size_t bytes;
  std::uint8_t* dst;
};

// For benchmarks: reads the 4 KiB pages at `page_offsets` of `path` with O_DIRECT (past the page
// cache: what the disk itself sustains), `queue_depth` reads in flight (io_uring when usable, else
// that many pread threads). Returns the seconds taken.
double read_pages_direct(const std::string& path, const std::vector<std::uint64_t>& page_offsets, int queue_depth);

// The pread engine's pool of reader threads (disk_reader.cpp).
class pread_pool;

class disk_row_reader {
 public:
  disk_row_reader(const dataset& d, int readers);
  // The header is read and checked against f (dtype, shape, file size): input_error naming the file.
  // engine automatic: TIERGNN_DISK_IO, else io_uring when usable, else pread.
  disk_row_reader(const feature_file& f, int readers, disk_io engine = disk_io::automatic, int queue_depth = 128);

  // "io_uring (queue depth 128)" or "pread (4 threads)".
  std::string engine() const;
  ~disk_row_reader();
  disk_row_reader(const disk_row_reader&) = delete;
  disk_row_reader& operator=(const disk_row_reader&) = delete;

  std::int64_t row_bytes() const { return row_bytes_; }
  // The bytes at the start of the row data (for readers of the same file).
  std::size_t data_offset() const { return data_offset_; }
  // rows: (id, slot) sorted by id; writes row id's bytes to dst + slot * row_bytes.
  void read(const std::vector<std::pair<std::int64_t, std::size_t>>& rows, std::uint8_t* dst) const;
  // Reads rows [first, first + count) into dst (a contiguous range, one read).
  void read_range(std::int64_t first, std::int64_t count, std::uint8_t* dst) const;

 private:
  std::string path_;
  unique_fd fd_;
  std::size_t data_offset_ = 0;
  std::int64_t row_bytes_ = 0;
  int readers_ = 4;
  bool uring_ = false;
  int depth_ = 128;
  // The pread engine's threads (disk_reader.cpp), started by the first read in this process (a
  // forked child starts its own: the parent's threads are not in it).
  mutable std::shared_ptr<pread_pool> pool_;
  mutable std::mutex pool_mutex_;
};

}  // namespace tg
