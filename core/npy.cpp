#include "core/npy.hpp"
#include "core/resources.hpp"

#include <sys/stat.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <limits>

namespace tg {

namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct dict_parser {
  const char* p;
  const char* end;
  const std::string& name;

  [[noreturn]] void fail(const std::string& what) const {
    throw input_error(at_input(name, "malformed .npy header: " + what));
  }
  void skip_ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool consume(char c) {
    skip_ws();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "'");
  }
  std::string quoted() {
    skip_ws();
    if (p >= end || (*p != '\'' && *p != '"')) fail("expected a quoted string");
    const char q = *p++;
    const char* s = p;
    while (p < end && *p != q) ++p;
    if (p >= end) fail("unterminated string");
    return std::string(s, p++);
  }
  bool boolean() {
    skip_ws();
    if (end - p >= 4 && std::strncmp(p, "True", 4) == 0) {
      p += 4;
      return true;
    }
    if (end - p >= 5 && std::strncmp(p, "False", 5) == 0) {
      p += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> v;
    while (true) {
      if (consume(')')) break;
      skip_ws();
      if (p >= end || *p < '0' || *p > '9') fail("shape must hold non-negative integers");
      std::int64_t x = 0;
      while (p < end && *p >= '0' && *p <= '9') {
        if (x > (std::numeric_limits<std::int64_t>::max() - 9) / 10) fail("shape value too large");
        x = x * 10 + (*p++ - '0');
      }
      skip_ws();
      if (p < end && *p == 'L') ++p;  // Python 2 longs
      v.push_back(x);
      if (consume(',')) continue;
      expect(')');
      break;
    }
    return v;
  }
};

dtype dtype_from_descr(const std::string& d, const std::string& name) {
  if (d.size() < 3) throw input_error(at_input(name, "unsupported dtype '" + d + "'"));
  const char order = d[0];
  const std::string code = d.substr(1);
  if (order == '>') {
    throw input_error(at_input(
        name, "big-endian dtype '" + d + "' is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))"));
  }
  if (order != '<' && order != '|' && order != '=') throw input_error(at_input(name, "unsupported dtype '" + d + "'"));
  static const struct {
    const char* code;
    dtype t;
  } table[] = {{"b1", dtype::boolean}, {"i1", dtype::int8},    {"u1", dtype::uint8},   {"i2", dtype::int16},
               {"u2", dtype::uint16},  {"i4", dtype::int32},   {"u4", dtype::uint32},  {"i8", dtype::int64},
               {"u8", dtype::uint64},  {"f2", dtype::float16}, {"f4", dtype::float32}, {"f8", dtype::float64}};
  for (const auto& e : table)
    if (code == e.code) return e.t;
  throw input_error(at_input(name, "unsupported dtype '" + d + "'"));
}

const char* descr_of(dtype t) {
  switch (t) {
    case dtype::boolean:
      return "|b1";
    case dtype::int8:
      return "|i1";
    case dtype::uint8:
      return "|u1";
    case dtype::int16:
      return "<i2";
    case dtype::uint16:
      return "<u2";
    case dtype::int32:
      return "<i4";
    case dtype::uint32:
      return "<u4";
    case dtype::int64:
      return "<i8";
    case dtype::uint64:
      return "<u8";
    case dtype::float16:
      return "<f2";
    case dtype::float32:
      return "<f4";
    case dtype::float64:
      return "<f8";
  }
  return "?";
}

std::string shape_string(const std::vector<std::int64_t>& s) {
  std::string r = "(";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  if (s.size() == 1) r += ",";
  return r + ")";
}

}  // namespace

std::int64_t npy_header::count() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

npy_header parse_npy_header(const std::uint8_t* bytes, std::size_t size, const std::string& name, bool allow_fortran) {
  if (size < 10 || std::memcmp(bytes, kMagic, 6) != 0)
    throw input_error(at_input(name, "not a .npy file (bad magic bytes)"));
  const int major = bytes[6];
  std::size_t hlen, pre;
  if (major == 1) {
    hlen = bytes[8] | (bytes[9] << 8);
    pre = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw input_error(at_input(name, "truncated .npy header"));
    hlen = static_cast<std::size_t>(bytes[8]) | (static_cast<std::size_t>(bytes[9]) << 8) |
           (static_cast<std::size_t>(bytes[10]) << 16) | (static_cast<std::size_t>(bytes[11]) << 24);
    pre = 12;
  } else {
    throw input_error(at_input(name, "unsupported .npy format version " + std::to_string(major)));
  }
  if (pre + hlen > size) throw input_error(at_input(name, "truncated .npy header"));
  const char* h = reinterpret_cast<const char*>(bytes + pre);
  dict_parser ps{h, h + hlen, name};
  ps.expect('{');
  npy_header out;
  bool have_descr = false, have_order = false, have_shape = false, fortran = false;
  while (true) {
    if (ps.consume('}')) break;
    const std::string key = ps.quoted();
    ps.expect(':');
    if (key == "descr") {
      ps.skip_ws();
      if (ps.p < ps.end && *ps.p == '[')  // numpy writes a record array's fields as a list (R11-F7)
        throw input_error(at_input(name,
                                   "holds a structured dtype (a record array with named fields), which is not "
                                   "supported: save each field as a plain array"));
      out.type = dtype_from_descr(ps.quoted(), name);
      have_descr = true;
    } else if (key == "fortran_order") {
      fortran = ps.boolean();
      have_order = true;
    } else if (key == "shape") {
      out.shape = ps.tuple();
      have_shape = true;
    } else {
      ps.fail("unexpected key '" + key + "'");
    }
    if (ps.consume(',')) continue;
    ps.expect('}');
    break;
  }
  if (!have_descr || !have_order || !have_shape) ps.fail("missing 'descr', 'fortran_order' or 'shape'");
  if (fortran && out.shape.size() > 1 && !(allow_fortran && out.shape.size() == 2))
    throw input_error(at_input(name, "Fortran-order arrays are not supported; save with np.ascontiguousarray"));
  out.fortran_order = fortran && out.shape.size() > 1;
  // The element count and byte size must be representable: a lying header (shape (2^61 + 50, 2))
  // must not wrap around to a plausible size and pass the file-size check.
  std::int64_t count = 1, total_bytes = 0;
  for (const std::int64_t d : out.shape)
    if (__builtin_mul_overflow(count, d, &count))
      throw input_error(
          at_input(name, "shape " + shape_string(out.shape) + " holds more elements than fit in 64 bits"));
  if (__builtin_mul_overflow(count, static_cast<std::int64_t>(dtype_size(out.type)), &total_bytes) ||
      total_bytes > std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(pre + hlen))
    throw input_error(at_input(name, "shape " + shape_string(out.shape) + " of " + std::string(dtype_name(out.type)) +
                                         " needs more bytes than fit in 64 bits"));
  out.data_offset = pre + hlen;
  return out;
}

std::string make_npy_header(dtype t, const std::vector<std::int64_t>& shape, std::size_t min_total) {
  std::string dict =
      std::string("{'descr': '") + descr_of(t) + "', 'fortran_order': False, 'shape': " + shape_string(shape) + ", }";
  std::size_t total = 10 + dict.size() + 1;
  std::size_t padded = std::max(min_total, ((total + 63) / 64) * 64);
  dict.append(padded - total, ' ');
  dict.push_back('\n');
  const std::size_t hlen = dict.size();
  TG_EXPECTS(hlen < 65536, "npy header too long");
  std::string out(kMagic, 6);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(hlen & 0xff));
  out.push_back(static_cast<char>(hlen >> 8));
  return out + dict;
}

namespace {
void check_image(const std::uint8_t* bytes, std::size_t size, const std::string& name, npy_header* hdr_out,
                 const void** data_out, bool fortran_ok = false) {
  npy_header h = parse_npy_header(bytes, size, name, fortran_ok);
  const std::size_t need = h.data_offset + h.nbytes();
  if (size < need)
    throw input_error(at_input(name, "truncated .npy data: expected " + std::to_string(h.nbytes()) + " bytes of " +
                                         std::string(dtype_name(h.type)) + " for shape " + shape_string(h.shape) +
                                         ", found " + std::to_string(size - h.data_offset)));
  if (size > need)
    throw input_error(at_input(name, std::to_string(size - need) + " unexpected bytes after the array data (shape " +
                                         shape_string(h.shape) + ")"));
  *hdr_out = h;
  *data_out = bytes + h.data_offset;
}
}  // namespace

void npy_array::align_data() {
  // A header of unusual length, or a member stored at an odd offset of a zip, leaves the data
  // misaligned for its dtype; typed loads from it would be undefined behaviour, so it is copied.
  const std::size_t align = dtype_size(header_.type);
  if (align <= 1 || reinterpret_cast<std::uintptr_t>(data_) % align == 0) return;
  auto copy = std::make_shared<std::vector<std::uint64_t>>((nbytes() + 7) / 8);
  if (nbytes()) std::memcpy(copy->data(), data_, nbytes());
  data_ = copy->data();
  owner_ = copy;
}

npy_array npy_array::open(const std::string& path) {
  auto f = std::make_shared<mmap_file>(mmap_file::open(path));
  npy_array a;
  a.name_ = path;
  a.file_ = path;
  check_image(f->data(), f->size(), path, &a.header_, &a.data_);
  a.owner_ = f;
  a.device_ = f->device();
  a.inode_ = f->inode();
  a.mtime_ns_ = f->mtime_ns();
  a.align_data();
  a.mapped_ = a.owner_ == f;  // not copied by align_data
  return a;
}

bool npy_array::same_file_now() const {
  if (file_.empty()) return true;
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) return false;
  return static_cast<std::uint64_t>(st.st_dev) == device_ && static_cast<std::uint64_t>(st.st_ino) == inode_ &&
         static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec == mtime_ns_;
}

bool npy_array::replaced_now() const {
  if (file_.empty()) return false;
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) return true;
  return static_cast<std::uint64_t>(st.st_dev) != device_ || static_cast<std::uint64_t>(st.st_ino) != inode_;
}

npy_array npy_array::from_bytes(std::vector<std::uint8_t> bytes, const std::string& name, bool fortran_ok) {
  auto owned = std::make_shared<std::vector<std::uint8_t>>(std::move(bytes));
  npy_array a;
  a.name_ = name;
  check_image(owned->data(), owned->size(), name, &a.header_, &a.data_, fortran_ok);
  a.owner_ = owned;
  a.align_data();
  a.to_row_major();
  return a;
}

npy_array npy_array::from_view(std::shared_ptr<const void> owner, const std::uint8_t* bytes, std::size_t size,
                               const std::string& name, bool fortran_ok) {
  npy_array a;
  a.name_ = name;
  check_image(bytes, size, name, &a.header_, &a.data_, fortran_ok);
  a.owner_ = std::move(owner);
  a.align_data();
  a.to_row_major();
  return a;
}

void npy_array::to_row_major() {
  if (!header_.fortran_order) return;
  // Element (i, j) of an R x C array sits at j R + i in column-major order, at i C + j in row-major.
  const auto rows = static_cast<std::size_t>(header_.shape[0]), cols = static_cast<std::size_t>(header_.shape[1]);
  const std::size_t width = dtype_size(header_.type);
  expect_memory(nbytes(), name_, "reordering this Fortran-order array into row-major order");
  auto copy = std::make_shared<std::vector<std::uint64_t>>((nbytes() + 7) / 8);
  const auto* src = static_cast<const std::uint8_t*>(data_);
  auto* dst = reinterpret_cast<std::uint8_t*>(copy->data());
  // Blocks of 64 x 64 elements: both sides stay in cache.
  constexpr std::size_t kBlock = 64;
  for (std::size_t j0 = 0; j0 < cols; j0 += kBlock)
    for (std::size_t i0 = 0; i0 < rows; i0 += kBlock)
      for (std::size_t j = j0; j < std::min(cols, j0 + kBlock); ++j)
        for (std::size_t i = i0; i < std::min(rows, i0 + kBlock); ++i)
          std::memcpy(dst + (i * cols + j) * width, src + (j * rows + i) * width, width);
  data_ = copy->data();
  owner_ = copy;
  mapped_ = false;
  header_.fortran_order = false;
}

void npy_array::expect_dtype(dtype t) const {
  if (type() != t)
    throw input_error(
        at_input(name_, "dtype is " + std::string(dtype_name(type())) + ", expected " + std::string(dtype_name(t))));
}
void npy_array::expect_ndim(int n) const {
  if (ndim() != n)
    throw input_error(at_input(name_, "has " + std::to_string(ndim()) + " dimensions " + shape_string(shape()) +
                                          ", expected " + std::to_string(n)));
}
void npy_array::expect_shape(const std::vector<std::int64_t>& s) const {
  if (shape() != s)
    throw input_error(at_input(name_, "shape is " + shape_string(shape()) + ", expected " + shape_string(s)));
}

std::vector<std::int64_t> npy_array::to_int64() const {
  const std::size_t n = static_cast<std::size_t>(count());
  std::vector<std::int64_t> out(n);
  auto conv = [&](auto* p) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::int64_t>(p[i]);
  };
  switch (type()) {
    case dtype::boolean:
    case dtype::uint8:
      conv(static_cast<const std::uint8_t*>(data_));
      break;
    case dtype::int8:
      conv(static_cast<const std::int8_t*>(data_));
      break;
    case dtype::int16:
      conv(static_cast<const std::int16_t*>(data_));
      break;
    case dtype::uint16:
      conv(static_cast<const std::uint16_t*>(data_));
      break;
    case dtype::int32:
      conv(static_cast<const std::int32_t*>(data_));
      break;
    case dtype::uint32:
      conv(static_cast<const std::uint32_t*>(data_));
      break;
    case dtype::int64:
      conv(static_cast<const std::int64_t*>(data_));
      break;
    case dtype::uint64: {
      const auto* p = static_cast<const std::uint64_t*>(data_);
      for (std::size_t i = 0; i < n; ++i) {
        if (p[i] > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          throw input_error(at_input(
              name_, "value " + std::to_string(p[i]) + " at index " + std::to_string(i) + " does not fit int64"));
        out[i] = static_cast<std::int64_t>(p[i]);
      }
      break;
    }
    default:
      throw input_error(at_input(name_, "dtype is " + std::string(dtype_name(type())) + ", expected an integer dtype"));
  }
  return out;
}

std::vector<float> npy_array::to_float32() const {
  const std::size_t n = static_cast<std::size_t>(count());
  std::vector<float> out(n);
  auto conv = [&](auto* p) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(p[i]);
  };
  switch (type()) {
    case dtype::float32:
      if (n) std::memcpy(out.data(), data_, n * 4);
      break;
    case dtype::float64:
      conv(static_cast<const double*>(data_));
      break;
    case dtype::float16: {
      const auto* p = static_cast<const std::uint16_t*>(data_);
      for (std::size_t i = 0; i < n; ++i) out[i] = half_to_float(p[i]);
      break;
    }
    case dtype::boolean:
    case dtype::uint8:
      conv(static_cast<const std::uint8_t*>(data_));
      break;
    case dtype::int8:
      conv(static_cast<const std::int8_t*>(data_));
      break;
    case dtype::int16:
      conv(static_cast<const std::int16_t*>(data_));
      break;
    case dtype::int32:
      conv(static_cast<const std::int32_t*>(data_));
      break;
    case dtype::int64:
      conv(static_cast<const std::int64_t*>(data_));
      break;
    default:
      throw input_error(at_input(name_, "dtype " + std::string(dtype_name(type())) + " cannot be used as features"));
  }
  return out;
}

void write_npy(const std::string& path, dtype t, const std::vector<std::int64_t>& shape, const void* data) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  const std::size_t bytes = static_cast<std::size_t>(n) * dtype_size(t);
  const std::string h = make_npy_header(t, shape, 64);
  stream_writer out(path);  // around the page cache where possible (core/stream_io.hpp)
  out.write(h.data(), h.size());
  out.write(data, bytes);
  out.finish();
}

npy_writer::npy_writer(const std::string& path, dtype t, std::vector<std::int64_t> row_shape)
    : path_(path), type_(t), row_shape_(std::move(row_shape)) {
  for (auto d : row_shape_) row_elems_ *= d;
  std::vector<std::int64_t> shape{std::numeric_limits<std::int64_t>::max()};
  shape.insert(shape.end(), row_shape_.begin(), row_shape_.end());
  const std::string h = make_npy_header(type_, shape, 128);                      // largest header this shape can need
  out_ = std::make_unique<stream_writer>(path, std::size_t{8} << 20, h.size());  // CRC of the data only
  out_->write(h.data(), h.size());
}

npy_writer::~npy_writer() = default;

void npy_writer::append(const void* data, std::int64_t rows) {
  TG_EXPECTS(out_, "npy_writer used after finish");
  out_->write(data, static_cast<std::size_t>(rows * row_elems_) * dtype_size(type_));
  rows_ += rows;
}

void npy_writer::finish() {
  TG_EXPECTS(out_, "npy_writer finished twice");
  std::vector<std::int64_t> shape{rows_};
  shape.insert(shape.end(), row_shape_.begin(), row_shape_.end());
  std::vector<std::int64_t> max_shape{std::numeric_limits<std::int64_t>::max()};
  max_shape.insert(max_shape.end(), row_shape_.begin(), row_shape_.end());
  const std::size_t reserved = make_npy_header(type_, max_shape, 128).size();
  const std::string h = make_npy_header(type_, shape, reserved);
  TG_EXPECTS(h.size() == reserved, "npy header size changed");
  out_->finish();
  const std::uint64_t data_bytes = out_->size() - h.size();
  const std::uint32_t data_crc = out_->crc32();
  out_.reset();
  // The header, now that the row count is known: one small write through the page cache.
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("open", path_);
  if (::pwrite(fd, h.data(), h.size(), 0) != static_cast<ssize_t>(h.size())) {
    const int err = errno ? errno : EIO;
    ::close(fd);
    errno = err;
    throw_errno("write", path_);
  }
  if (::close(fd) != 0) throw_errno("close", path_);
  // The file's checksum from the header's and the data's (computed while writing).
  const uLong head =
      ::crc32(::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(h.data()), static_cast<uInt>(h.size()));
  remember_file_crc32(
      path_, static_cast<std::uint32_t>(::crc32_combine64(head, data_crc, static_cast<z_off64_t>(data_bytes))));
}

npy_mmap_writer::npy_mmap_writer(const std::string& path, dtype t, const std::vector<std::int64_t>& shape) : type_(t) {
  const std::string h = make_npy_header(t, shape, 128);
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  count_ = static_cast<std::size_t>(n);
  offset_ = h.size();
  file_ = mmap_file::create(path, offset_ + count_ * dtype_size(t));
  std::memcpy(file_.mutable_data(), h.data(), h.size());
}

void release_pages(const npy_array& a) {
  if (!a.mapped() || a.nbytes() == 0) return;
  const auto first = reinterpret_cast<std::uintptr_t>(a.raw()) & ~std::uintptr_t{4095};
  const auto end = reinterpret_cast<std::uintptr_t>(a.raw()) + a.nbytes();
  (void)::madvise(reinterpret_cast<void*>(first), end - first, MADV_DONTNEED);
  const int fd = ::open(a.file().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

void advise_access(const npy_array& a, bool random) {
  if (a.nbytes() == 0) return;
  const auto first = reinterpret_cast<std::uintptr_t>(a.raw()) & ~std::uintptr_t{4095};
  const auto end = reinterpret_cast<std::uintptr_t>(a.raw()) + a.nbytes();
  (void)::madvise(reinterpret_cast<void*>(first), end - first, random ? MADV_RANDOM : MADV_NORMAL);
}

}  // namespace tg
