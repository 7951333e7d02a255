#pragma once
// NumPy .npy files: strict header parsing, read through mmap (or from bytes held in memory, e.g. an
// .npz member), and writing either at once or streamed in chunks of rows.
//
// Format (numpy.lib.format): "\x93NUMPY", major, minor, header length (u16 for 1.0, u32 for 2.0/3.0),
// then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), } padded with
// spaces and a newline. Only little-endian (or byte-sized) C-order arrays are accepted.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/mmap_file.hpp"
#include "core/span.hpp"
#include "core/stream_io.hpp"

namespace tg {

struct npy_header {
  dtype type = dtype::float32;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;  // bytes from the file start to the first element
  bool fortran_order = false;   // column-major elements (only where the caller allows it)

  std::int64_t count() const;  // product of the shape (1 for a 0-d array)
  std::size_t nbytes() const { return static_cast<std::size_t>(count()) * dtype_size(type); }
};

// Parses the header at the start of `bytes`; `name` is used in error messages. A Fortran-order
// (column-major) array of 2 or more dimensions is refused unless `allow_fortran`.
npy_header parse_npy_header(const std::uint8_t* bytes, std::size_t size, const std::string& name,
                            bool allow_fortran = false);
// The full header (magic .. newline) for an array, padded to `min_total` bytes (a multiple of 64).
std::string make_npy_header(dtype t, const std::vector<std::int64_t>& shape, std::size_t min_total = 128);

// A read-only array: header + a pointer to its elements, kept alive by an mmap or owned bytes.
class npy_array {
 public:
  npy_array() = default;
  // Maps the file and validates header and size.
  static npy_array open(const std::string& path);
  // Wraps bytes that hold a complete .npy file (copied/inflated from an archive).
  // With `fortran_ok`, a 2-d Fortran-order array (numpy's `x.T`, saved as it is) is read and its
  // elements copied into row-major order; otherwise it is refused.
  static npy_array from_bytes(std::vector<std::uint8_t> bytes, const std::string& name, bool fortran_ok = false);
  // Views a complete .npy image inside memory kept alive by `owner` (e.g. a stored zip member).
  static npy_array from_view(std::shared_ptr<const void> owner, const std::uint8_t* bytes, std::size_t size,
                             const std::string& name, bool fortran_ok = false);

  const std::string& name() const { return name_; }
  dtype type() const { return header_.type; }
  const std::vector<std::int64_t>& shape() const { return header_.shape; }
  int ndim() const { return static_cast<int>(header_.shape.size()); }
  std::int64_t count() const { return header_.count(); }
  std::size_t nbytes() const { return header_.nbytes(); }
  const void* raw() const { return data_; }
  // The file the array was mapped from (empty for arrays from bytes or an archive), and the byte
  // offset of its first element there: for streaming it from disk instead of through the mapping.
  const std::string& file() const { return file_; }
  std::size_t data_offset() const { return header_.data_offset; }
  // True when the elements are read through a mapping of file() (not copied into memory).
  bool mapped() const { return mapped_; }
  // False when file() is now another file than the one opened (replaced, or rewritten: its inode or
  // modification time differ); true for arrays without a file.
  bool same_file_now() const;
  // Whether the path names another file now (another inode, or none): replaced, not rewritten in place.
  bool replaced_now() const;

  // Typed view; throws input_error naming the array if the dtype differs.
  template <typename T>
  span<const T> as() const {
    expect_dtype(dtype_of<T>());
    return {static_cast<const T*>(data_), static_cast<std::size_t>(count())};
  }
  // Input checks with messages that name the array.
  void expect_dtype(dtype t) const;
  void expect_ndim(int n) const;
  void expect_shape(const std::vector<std::int64_t>& shape) const;
  // Copies the elements into int64 (any integer dtype) / float32 (any float dtype or bool).
  std::vector<std::int64_t> to_int64() const;
  std::vector<float> to_float32() const;

 private:
  void align_data();
  // A 2-d Fortran-order array: its elements copied into row-major order (owned memory).
  void to_row_major();
  std::string name_;
  std::string file_;
  bool mapped_ = false;
  std::uint64_t device_ = 0, inode_ = 0;
  std::int64_t mtime_ns_ = 0;
  npy_header header_;
  const void* data_ = nullptr;
  std::shared_ptr<const void> owner_;
};

// Writes a whole array.
// How the kernel pages a mapped array in: random (MADV_RANDOM: one page per fault, for a file larger
// than memory read at random places) or normal (read-around). Nothing for an array held in memory.
void advise_access(const npy_array& a, bool random);
// Gives a mapped array's pages back (drops them from this mapping and, where no one else maps them,
// from the page cache): for a large input read for the last time, so that the memory is free for
// what comes next instead of being reclaimed under pressure. Later reads fault the pages in again
// from the file. Nothing for an array held in memory.
void release_pages(const npy_array& a);

void write_npy(const std::string& path, dtype t, const std::vector<std::int64_t>& shape, const void* data);
template <typename T>
void write_npy(const std::string& path, span<const T> data) {
  write_npy(path, dtype_of<T>(), {static_cast<std::int64_t>(data.size())}, data.data());
}

// Streams rows into a .npy whose first dimension may be unknown until finish(): the header is
// reserved at a fixed size and rewritten with the final shape.
class npy_writer {
 public:
  npy_writer(const std::string& path, dtype t, std::vector<std::int64_t> row_shape);
  npy_writer(const npy_writer&) = delete;
  npy_writer& operator=(const npy_writer&) = delete;
  ~npy_writer();
  // Appends `rows` rows of contiguous elements.
  void append(const void* data, std::int64_t rows);
  template <typename T>
  void append(span<const T> elems) {
    TG_EXPECTS(dtype_of<T>() == type_, "npy_writer dtype mismatch");
    append(elems.data(), static_cast<std::int64_t>(elems.size() / row_elems_));
  }
  std::int64_t rows() const { return rows_; }
  // Rewrites the header with the final row count, flushes and closes.
  void finish();

 private:
  std::string path_;
  dtype type_;
  std::vector<std::int64_t> row_shape_;
  std::int64_t row_elems_ = 1;
  std::int64_t rows_ = 0;
  std::unique_ptr<stream_writer> out_;  // around the page cache where possible (core/stream_io.hpp)
};

// Creates a .npy of known shape mapped read-write, to be filled in place (random writes, larger
// than RAM if need be). data() points at the first element.
class npy_mmap_writer {
 public:
  npy_mmap_writer(const std::string& path, dtype t, const std::vector<std::int64_t>& shape);
  void* data() { return file_.mutable_data() + offset_; }
  template <typename T>
  span<T> as() {
    TG_EXPECTS(dtype_of<T>() == type_, "npy_mmap_writer dtype mismatch");
    return {static_cast<T*>(data()), count_};
  }
  void finish() {
    file_.flush();
    file_.close();
  }

 private:
  mmap_file file_;
  std::size_t offset_ = 0;
  std::size_t count_ = 0;
  dtype type_;
};

}  // namespace tg
