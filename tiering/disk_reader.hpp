#pragma once
// Reads feature rows of the disk tier from features.npy with pread (no mmap: disk rows really come
// from the file or the page cache), runs of consecutive ids coalesced into one read, served by a
// pool of reader threads. The one reader of the disk tier: the CPU store reads its disk rows with it
// into staging memory, the CUDA store into pinned staging buffers.
#include <cstdint>
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

class disk_row_reader {
 public:
  disk_row_reader(const dataset& d, int readers);
  // The header is read and checked against f (dtype, shape, file size): input_error naming the file.
  disk_row_reader(const feature_file& f, int readers);
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
};

}  // namespace tg
